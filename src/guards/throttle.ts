import type { Clock } from "../clock";
import type { AttemptLimit, Config } from "../config";
import { addressBucket, clientAddress } from "../http/client-address";
import { ApiError, OAuthError, RejectedCredential } from "../http/errors";
import { retryAfterSeconds } from "../http/ratelimit-headers";
import { IsolateCache } from "../store/isolate-cache";
import { addressesKept } from "../usage/addresses";
import type { AttemptDetail } from "../usage/attempt-log";
import type { AttemptWindow } from "./attempt-guard";
import type { Guards } from "./guard-client";

/** Blocked clients this isolate remembers; one per isolate (see isolate.ts). */
export class BlockedClients extends IsolateCache<number> {
  constructor() {
    super(10_000, 3_600_000);
  }
}

/** The client whose attempts are counted together (see addressBucket). */
export function clientIp(headers: Headers): string {
  return addressBucket(clientAddress(headers));
}

/** The IP's counter of failed credentials: its own namespace, so no client value can name another counter. */
export function attemptBucket(ip: string): string {
  return `ip:${ip}`;
}

/**
 * What is being tried, and by whom:
 * - `credential`: an API key, an admin token, a session cookie, or what an OAuth client presents
 *   (its secret, a code, a refresh token). Failures are counted per client, after the check (a
 *   RejectedCredential, or an OAuthError that counts, it throws); a client over FAILED_AUTH_LIMIT is refused
 *   before any check runs, from this isolate's memory once it knows.
 * - `password`: an admin's password (a sign-in, a password change). Every attempt is counted,
 *   before the check, per email and per client: a limit that only counted after a wrong answer
 *   would still check, and so confirm, a right one during the lock-out. `lastSigninAt` names the
 *   email's counter, so a successful sign-in starts a fresh one: the email limit counts the
 *   attempts since the last success. An address has no "last success" (one valid account must not
 *   reset an address that is spraying other emails), and counting only its failures would mean
 *   reading the count before the check and adding after, so a burst sent at once would all read
 *   the same count and all be checked. Counting first is one atomic step.
 */
export type Attempt =
  | { kind: "credential"; ip: string; detail?: () => AttemptDetail }
  | { kind: "password"; ip: string; email: string; lastSigninAt: number | null };

/** A refused attempt: 429 with Retry-After, and which limits refused it. */
export class TooManyAttempts extends ApiError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
    readonly limits: readonly ("client" | "email" | "ip")[],
    /** The first refusal of this block: worth recording once (the rest of the block is not). */
    readonly firstRefusal: boolean,
  ) {
    super("too_many_failed_attempts", message, null, { "retry-after": String(retryAfterSeconds) });
  }
}

/**
 * The one failed-attempt policy: every check of a credential or a password runs through
 * `guarded`, which refuses a blocked client before the check and counts the attempt exactly once.
 * The IP's (or email's) AttemptGuard counts; once it refuses a client, this isolate remembers
 * until when, so a blocked prober costs no I/O at all.
 */
export class Throttle {
  constructor(
    private readonly guards: Guards,
    private readonly blocked: BlockedClients,
    private readonly settings: Pick<Config, "failedAuth" | "passwordAttempts" | "logClientIps">,
    private readonly clock: Clock,
  ) {}

  /** Runs `check` under the policy of its kind; what it returns, or the error to answer with. */
  guarded<T>(attempt: Attempt, check: () => Promise<T>): Promise<T> {
    return attempt.kind === "credential" ? this.countingFailures(attempt, check) : this.countingFirst(attempt, check);
  }

  private async countingFailures<T>(attempt: Extract<Attempt, { kind: "credential" }>, check: () => Promise<T>): Promise<T> {
    const now = this.clock.now();
    const until = this.blocked.get(attempt.ip, now);
    if (until !== undefined && until > now) throw tooManyFailures(until - now, false);
    try {
      return await check();
    } catch (error) {
      if (!(error instanceof RejectedCredential) && !(error instanceof OAuthError && error.countsAsFailedAttempt)) throw error;
      throw await this.recordFailure(attempt, error);
    }
  }

  /**
   * Counts one failure; returns the error to answer with (the check's own, or a 429 once over the
   * limit). With `detail` (a key's failure, built only now) the IP's object also records it, in the same call,
   * when addresses may be kept: that object is the address, so what it records is about it.
   */
  private async recordFailure(attempt: Extract<Attempt, { kind: "credential" }>, failure: RejectedCredential | OAuthError): Promise<ApiError | OAuthError> {
    const recorded = attempt.detail && addressesKept(this.settings) ? { code: failure.code, ...attempt.detail() } : undefined;
    const { limit, windowSeconds } = this.settings.failedAuth;
    try {
      const window = await this.guards.attempts(attemptBucket(attempt.ip)).recordAttempt(limit, windowSeconds, recorded);
      if (window.admitted) return failure;
      this.blocked.set(attempt.ip, window.now + window.retryAfterMs, this.clock.now());
      return tooManyFailures(window.retryAfterMs, window.firstRefusal);
    } catch (error) {
      // The request is refused either way; a counting fault must not turn a 401 into a 503.
      console.error("keygate: failed-attempt counter unavailable", error);
      return failure;
    }
  }

  private async countingFirst<T>(attempt: Extract<Attempt, { kind: "password" }>, check: () => Promise<T>): Promise<T> {
    const { perEmail, perIp } = this.settings.passwordAttempts;
    let windows: [AttemptWindow, AttemptWindow];
    try {
      windows = await Promise.all([
        this.count(`signin-email:${attempt.lastSigninAt ?? 0}:${attempt.email}`, perEmail),
        this.count(`signin-ip:${attempt.ip}`, perIp),
      ]);
    } catch (error) {
      // Without the counters nothing limits guessing: refuse rather than check passwords unguarded.
      console.error("keygate: sign-in attempt counter unavailable", error);
      throw new ApiError("auth_unavailable", "Sign-in is temporarily unavailable; try again shortly.");
    }
    const refusing = windows.filter((window) => !window.admitted);
    if (refusing.length > 0) {
      const [email, ip] = windows;
      throw new TooManyAttempts(
        "Too many sign-in attempts; try again later.",
        retryAfterSeconds(Math.max(...refusing.map((window) => window.retryAfterMs))),
        [...(email.admitted ? [] : ["email" as const]), ...(ip.admitted ? [] : ["ip" as const])],
        refusing.some((window) => window.firstRefusal),
      );
    }
    return check();
  }

  private count(counter: string, { limit, windowSeconds }: AttemptLimit): Promise<AttemptWindow> {
    return this.guards.attempts(counter).recordAttempt(limit, windowSeconds);
  }
}

function tooManyFailures(retryAfterMs: number, firstRefusal: boolean): TooManyAttempts {
  return new TooManyAttempts("Too many failed authentication attempts from this client; try again later.", retryAfterSeconds(retryAfterMs), ["client"], firstRefusal);
}
