/**
 * A key's Durable Object could not be asked. Like a StorageError, it says only what failed; the
 * HTTP layer answers 503 auth_unavailable.
 */
export class GuardUnavailable extends Error {
  constructor(override readonly cause: unknown) {
    super("keygate: key guard unavailable");
    this.name = "GuardUnavailable";
  }
}
