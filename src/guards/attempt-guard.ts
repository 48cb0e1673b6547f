import { DurableObject } from "cloudflare:workers";
import { systemClock, type Clock } from "../clock";
import type { WindowState } from "../authority/window";
import { ATTEMPT_RETENTION_MS, bucketStart } from "../usage/buckets";
import { ATTEMPT_FLUSH_MS, AttemptLog, type AttemptDetail, type AttemptEventRow } from "../usage/attempt-log";
import { ATTEMPT_GUARD_STORAGE } from "../object-storage/steps";
import { upgradeObjectStorage } from "../object-storage/versions";
import { SlidingWindow } from "../counting/sliding-window";
import { WindowRows } from "../object-storage/window-rows";
import { WriteBehind } from "./write-behind";

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
  private readonly clock: Clock = systemClock;
  private readonly window: SlidingWindow;
  private readonly windowRows: WindowRows;
  private readonly attempts: AttemptLog;
  /** Attempts are written after the reply, at most once every ATTEMPT_FLUSH_MS (see WriteBehind). */
  private readonly writes = new WriteBehind(() => this.writeDue());
  private writtenAt = Number.NEGATIVE_INFINITY;
  /** Until when the last refusal said the subject is blocked (memory only: after a restart, one more "first"). */
  private blockedUntil = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // Storage left by any earlier release is brought up to this one's tables before the log reads it.
    upgradeObjectStorage(ctx.storage, ATTEMPT_GUARD_STORAGE);
    this.windowRows = new WindowRows(ctx.storage.sql, "window_entries");
    this.window = new SlidingWindow(this.windowRows.load());
    this.attempts = new AttemptLog(ctx.storage.sql);
  }

  /**
   * Counts one attempt if the window has room; `admitted: false` means the subject is over its
   * limit. With `failure` (a client's failed authentication, when addresses may be logged) it is
   * also recorded: what the client was answered, where, and with which key's display form.
   */
  recordAttempt(limit: number, windowSeconds: number, failure?: { code: string } & AttemptDetail): AttemptWindow {
    const window = this.window.tryAdmit(this.clock.now(), limit, windowSeconds * 1000);
    const firstRefusal = !window.admitted && window.now >= this.blockedUntil;
    if (!window.admitted) this.blockedUntil = window.now + window.retryAfterMs;
    if (failure) this.attempts.record(window.now, window.admitted ? failure.code : "too_many_failed_attempts", failure);
    // Decided in memory, written after the reply, like a key's window: a flood of failures from
    // one address costs one write a second, and a restart forgets at most that second's attempts.
    this.writes.schedule(this.writtenAt + ATTEMPT_FLUSH_MS, window.now);
    return { ...window, firstRefusal };
  }

  /** An alarm set by an earlier release, which wrote failures this way: writes what waits. */
  override alarm(): void {
    this.writeDue();
  }

  /** What the timer writes: the window's changes and the failures counted since the last write. */
  private writeDue(): void {
    this.writes.cancel();
    this.writtenAt = this.clock.now();
    this.windowRows.write(this.window.takeChanges());
    this.attempts.flush();
  }

  /** The recorded failures: hourly counts of the last 7 days and the newest `limit` events. */
  failures(limit: number): { hours: { hour: number; counts: Record<string, number> }[]; events: AttemptEventRow[] } {
    const now = this.clock.now();
    this.attempts.flush();
    return {
      hours: this.attempts.hours.read(bucketStart(now - ATTEMPT_RETENTION_MS, "hour"), now + 1).map(([hour, counts]) => ({ hour, counts })),
      events: this.attempts.events.page(limit, null).rows,
    };
  }
}
