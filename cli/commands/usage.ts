import type { Command } from "commander";
import { details, say, table, text, time } from "../output";
import { idOf, parseSince } from "../parse";
import { Session } from "../session";

export function registerUsage(program: Command): void {
  program
    .command("usage")
    .description("Show a key's usage: requests admitted, requests refused by its rate limit, last use")
    .argument("<key-id>", "the key's id (key_…)", idOf("key", "a key"))
    .option("--since <when>", "from this long ago (7d, 12h) or this date, where keygate reports usage by period", (value: string) => parseSince(value))
    .addHelpText(
      "after",
      "\nkeygate versions that only keep totals ignore --since and report the key's whole life.\n\nExample:\n  $ keygate usage key_… --since 7d",
    )
    .action(async (id: string, options: { since?: string }, command: Command) => {
      const session = new Session(command);
      // `from` is the usage API's period parameter; a keygate without periods ignores it.
      const response = await (await session.client()).get(`/keys/${id}/usage`, { from: options.since });
      session.print(response, (usage) => printUsage(usage));
      if (options.since && !("from" in response.body)) say(`This keygate reports totals only: --since was not applied.`, session.json);
    });
}

/**
 * Today's answer is a few totals; a richer one (per-period buckets) may come. Scalars are shown as
 * fields and any list of objects as a table, so new fields show up without a new CLI.
 */
function printUsage(usage: Record<string, unknown>): void {
  const fields: Array<[string, string]> = [];
  const lists: Array<[string, Array<Record<string, unknown>>]> = [];
  for (const [name, value] of Object.entries(usage)) {
    if (name === "object") continue;
    if (Array.isArray(value)) {
      if (value.every((item) => item !== null && typeof item === "object" && !Array.isArray(item))) lists.push([name, value]);
      else fields.push([label(name), value.map((item) => text(item)).join(", ")]);
    } else {
      fields.push([label(name), name.endsWith("_at") || name === "from" || name === "to" ? time(value) : text(value)]);
    }
  }
  details(fields);
  for (const [name, rows] of lists) {
    if (rows.length === 0) continue;
    const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
    process.stdout.write(`\n${label(name)}:\n`);
    table(columns.map((column) => label(column).toUpperCase()), rows.map((row) => columns.map((column) => text(row[column]))));
  }
}

function label(name: string): string {
  return name.replace(/_/g, " ");
}
