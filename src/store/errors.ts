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
