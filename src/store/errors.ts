/**
 * What keygate's storage raises, and nothing else: D1, KV and the Durable Objects say only what
 * failed; the HTTP layer decides the answer (503 auth_unavailable).
 */

/**
 * D1 or KV failed while keygate needed it. The store says only that; the HTTP layer decides the
 * answer (503 auth_unavailable), so storage code never knows about statuses.
 */
export class StorageError extends Error {
  constructor(what: string, override readonly cause: unknown) {
    super(`keygate: ${what} failed`);
    this.name = "StorageError";
  }
}

/** A key's Durable Object could not be asked. Like a StorageError, it says only what failed. */
export class GuardUnavailable extends Error {
  constructor(override readonly cause: unknown) {
    super("keygate: key guard unavailable");
    this.name = "GuardUnavailable";
  }
}

/**
 * Whether D1 refused a write because a unique index or primary key already holds its value: how
 * two concurrent inserts of one thing are told apart from a failure (the later one loses; the
 * caller says what that means). Looks through a StorageError to the error it wraps.
 */
export function isUniqueViolation(error: unknown): boolean {
  for (let cause = error, depth = 0; cause instanceof Error && depth < 4; cause = cause.cause, depth++) {
    if (cause.message.includes("UNIQUE constraint failed")) return true;
  }
  return false;
}
