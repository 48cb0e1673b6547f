import type { ApiResponse } from "../client";
import { CliError, EXIT } from "../errors";
import { say } from "../output";

/** A call that changes many rows continues 500 at a time; this many rounds is 5 million of them. */
const MAX_FANOUT_ROUNDS = 10_000;

/**
 * A call that answers 202 while it has more to write, repeated until it is done (each repeat continues):
 * `progress` on standard error after each 202 (not with --json), `stuck` as the error if it never finishes.
 */
export async function untilDone(
  call: () => Promise<ApiResponse>,
  json: boolean,
  messages: { progress: string; stuck: string },
): Promise<ApiResponse> {
  for (let round = 0; round < MAX_FANOUT_ROUNDS; round++) {
    const response = await call();
    if (response.status !== 202) return response;
    say(messages.progress, json);
  }
  throw new CliError(messages.stuck, EXIT.refused);
}
