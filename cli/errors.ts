/**
 * Every way the CLI ends, as an exit code a script can branch on. Each failure is one line on
 * standard error; nothing ever prints a stack trace.
 */
export const EXIT = {
  ok: 0,
  /** keygate (or the CLI on its behalf: not signed in, session over) refused. */
  refused: 1,
  /** The command line is wrong; nothing was sent. */
  usage: 2,
  /** keygate could not be reached, or what answered was not keygate. */
  unreachable: 3,
  /** Ctrl-C at a prompt, as shells report an interrupt. */
  interrupted: 130,
} as const;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

export class UsageError extends CliError {
  constructor(message: string) {
    super(message, EXIT.usage);
  }
}

export class UnreachableError extends CliError {
  constructor(url: string, reason: string) {
    super(`cannot reach keygate at ${url}: ${reason}`, EXIT.unreachable);
  }
}

/** A refusal in keygate's error envelope: its message and code, and the request id for its logs. */
export class ApiRefusal extends CliError {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly apiMessage: string,
    readonly requestId: string | null,
    readonly details: Record<string, unknown> | null,
    hint?: string,
  ) {
    super(describeRefusal(code, apiMessage, requestId, details, hint), EXIT.refused);
  }
}

function describeRefusal(code: string, message: string, requestId: string | null, details: Record<string, unknown> | null, hint?: string): string {
  const fields = Array.isArray(details?.fields)
    ? (details.fields as Array<{ field?: unknown; message?: unknown }>).map((f) => `${String(f.field)} ${String(f.message)}`).join("; ")
    : "";
  const tag = requestId ? `${code}, ${requestId}` : code;
  return `${message}${fields ? ` ${fields}.` : ""} (${tag})${hint ? ` ${hint}` : ""}`;
}
