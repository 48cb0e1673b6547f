import { DurableObject } from "cloudflare:workers";
import { SlidingLog, type WindowState } from "./sliding-log";

/**
 * One object per client IP: counts failed authentications (well-formed keys that are unknown,
 * revoked or expired) in a sliding window, so nobody can probe keys at line rate.
 */
export class AttemptGuard extends DurableObject<Env> {
  private readonly log = new SlidingLog(this.ctx.storage.sql, "failures");

  recordFailure(limit: number, windowSeconds: number): WindowState {
    return this.log.tryAdmit(Date.now(), limit, windowSeconds * 1000);
  }
}
