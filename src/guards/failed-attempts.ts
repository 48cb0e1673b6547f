import type { Clock } from "../clock";
import { addressBucket, clientAddress } from "../http/client-address";
import { ApiError } from "../http/errors";
import { retryAfterSeconds } from "../http/ratelimit-headers";
import { IsolateCache } from "../store/isolate-cache";
import type { AttemptDetail } from "../usage/attempt-log";
import type { Guards } from "./guard-client";

/** Blocked clients this isolate remembers; one per isolate (see isolate.ts). */
export class BlockedClients extends IsolateCache<number> {
  constructor() {
    super(10_000, 3_600_000);
  }
}

/** The client whose failures are counted together (see addressBucket). */
export function clientIp(headers: Headers): string {
  return addressBucket(clientAddress(headers));
}

/** The IP's counter: its own namespace, so no client value can name a sign-in counter. */
export function attemptBucket(ip: string): string {
  return `ip:${ip}`;
}

/**
 * Failed authentications (gateway keys, admin tokens) are limited per client IP. The IP's
 * AttemptGuard counts them; once it refuses, this isolate remembers until when, so a blocked
 * prober costs no I/O at all.
 */
export class FailedAttempts {
  constructor(
    private readonly guards: Guards,
    private readonly blocked: BlockedClients,
    private readonly limits: { limit: number; windowSeconds: number; logClientIps: boolean },
    private readonly clock: Clock,
  ) {}

  assertNotBlocked(ip: string): void {
    const now = this.clock.now();
    const until = this.blocked.get(ip, now);
    if (until !== undefined && until > now) throw tooManyAttempts(until - now);
  }

  /**
   * Counts one failure; returns the error to answer with (the 401, or a 429 once over the limit).
   * With `detail` (a key's failure) the IP's object also records it, in the same call, unless
   * LOG_CLIENT_IPS=false: that object is the IP, so what it records is about the IP.
   */
  async record(ip: string, failure: ApiError, detail?: AttemptDetail): Promise<ApiError> {
    const recorded = detail && this.limits.logClientIps ? { code: failure.code, ...detail } : undefined;
    try {
      const window = await this.guards.attempts(attemptBucket(ip)).recordAttempt(this.limits.limit, this.limits.windowSeconds, recorded);
      if (window.admitted) return failure;
      this.blocked.set(ip, window.now + window.retryAfterMs, this.clock.now());
      return tooManyAttempts(window.retryAfterMs);
    } catch (error) {
      // The request is refused either way; a counting fault must not turn a 401 into a 503.
      console.error("keygate: failed-attempt counter unavailable", error);
      return failure;
    }
  }
}

function tooManyAttempts(retryAfterMs: number): ApiError {
  return new ApiError("too_many_failed_attempts", "Too many failed authentication attempts from this client; try again later.", null, {
    "retry-after": String(retryAfterSeconds(retryAfterMs)),
  });
}
