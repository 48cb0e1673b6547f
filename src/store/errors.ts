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
