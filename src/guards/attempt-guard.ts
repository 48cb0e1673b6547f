import { DurableObject } from "cloudflare:workers";
import type { WindowState } from "../authority/window";
import { ATTEMPT_GUARD_STORAGE } from "../upgrades/guard-storage";
import { upgradeObjectStorage } from "../upgrades/object-storage";
import { SlidingLog } from "./sliding-log";

export interface AttemptWindow extends WindowState {
  /** The first refusal of a stretch of refusals: when the subject became blocked, worth recording once. */
  firstRefusal: boolean;
}

/**
 * One object per counted subject: a client IP's failed authentications (well-formed keys that are
 * unknown, revoked or expired), or an email's or address's sign-in attempts. A sliding window, so
 * nobody can probe keys or passwords at line rate.
 */
export class AttemptGuard extends DurableObject<Env> {
  private readonly log: SlidingLog;
  /** Until when the last refusal said the subject is blocked (memory only: after a restart, one more "first"). */
  private blockedUntil = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // Storage left by any earlier release is brought up to this one's tables before the log reads it.
    upgradeObjectStorage(ctx.storage, ATTEMPT_GUARD_STORAGE);
    this.log = new SlidingLog(ctx.storage.sql, "failures");
  }

  /** Counts one attempt if the window has room; `admitted: false` means the subject is over its limit. */
  recordAttempt(limit: number, windowSeconds: number): AttemptWindow {
    const window = this.log.tryAdmit(Date.now(), limit, windowSeconds * 1000);
    const firstRefusal = !window.admitted && window.now >= this.blockedUntil;
    if (!window.admitted) this.blockedUntil = window.now + window.retryAfterMs;
    return { ...window, firstRefusal };
  }
}
