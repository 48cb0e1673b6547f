import { DurableObject } from "cloudflare:workers";
import { SlidingLog, type WindowState } from "./sliding-log";

/**
 * One object per counted subject: a client IP's failed authentications (well-formed keys that are
 * unknown, revoked or expired), or an email's or address's sign-in attempts. A sliding window, so
 * nobody can probe keys or passwords at line rate.
 */
export class AttemptGuard extends DurableObject<Env> {
  private readonly log = new SlidingLog(this.ctx.storage.sql, "failures");

  /** Counts one attempt if the window has room; `admitted: false` means the subject is over its limit. */
  recordAttempt(limit: number, windowSeconds: number): WindowState {
    return this.log.tryAdmit(Date.now(), limit, windowSeconds * 1000);
  }
}
