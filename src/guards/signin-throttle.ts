import { ApiError } from "../http/errors";
import { retryAfterSeconds } from "../http/ratelimit-headers";
import type { AttemptWindow } from "./attempt-guard";
import type { Guards } from "./guard-client";

/**
 * Password guessing is limited per email and per client IP, each counted by its own AttemptGuard
 * object. An attempt is counted BEFORE the password is checked: a limit that only counted after a
 * wrong answer would still check, and so confirm, a right one during the lock-out.
 *
 * Per email the counter is named after the admin's last successful sign-in, so a success starts a
 * fresh counter: the email limit counts failures since the last success. Per IP every attempt
 * counts, successes included, on purpose: an address has no "last success" to name a counter
 * after (one valid account must not reset an address that is spraying other emails), and
 * counting only failures would mean reading the count before the password check and adding to it
 * after, so a burst of guesses sent at once would all read the same count and all be checked.
 * Counting first is one atomic step. What it costs is small: 30 sign-ins per address per 15
 * minutes, where a token lasts an hour and refreshes are not counted.
 */
export const SIGNIN_LIMITS = {
  perEmail: { limit: 10, windowSeconds: 900 },
  perIp: { limit: 30, windowSeconds: 900 },
} as const;

/** A refused sign-in attempt: which limits refused it, and whether this started the block. */
export interface SigninRefusal {
  limits: ("email" | "ip")[];
  retryAfterSeconds: number;
  /** The first refusal of this block: recorded in the audit trail (the rest of the block is not). */
  firstRefusal: boolean;
}

/** Counts the attempt against both limits; a refusal when either is over, null when it may go on. */
export async function admitSigninAttempt(guards: Guards, email: string, lastSigninAt: number | null, ip: string): Promise<SigninRefusal | null> {
  let windows: [AttemptWindow, AttemptWindow];
  try {
    windows = await Promise.all([
      guards.attempts(`signin-email:${lastSigninAt ?? 0}:${email}`).recordAttempt(SIGNIN_LIMITS.perEmail.limit, SIGNIN_LIMITS.perEmail.windowSeconds),
      guards.attempts(`signin-ip:${ip}`).recordAttempt(SIGNIN_LIMITS.perIp.limit, SIGNIN_LIMITS.perIp.windowSeconds),
    ]);
  } catch (error) {
    // Without the counters nothing limits guessing: refuse rather than check passwords unguarded.
    console.error("keygate: sign-in attempt counter unavailable", error);
    throw new ApiError("auth_unavailable", "Sign-in is temporarily unavailable; try again shortly.");
  }
  const [perEmail, perIp] = windows;
  const refusing = windows.filter((w) => !w.admitted);
  if (refusing.length === 0) return null;
  return {
    limits: [...(perEmail.admitted ? [] : ["email" as const]), ...(perIp.admitted ? [] : ["ip" as const])],
    retryAfterSeconds: retryAfterSeconds(Math.max(...refusing.map((w) => w.retryAfterMs))),
    firstRefusal: refusing.some((w) => w.firstRefusal),
  };
}

export function tooManySignins(refusal: SigninRefusal): ApiError {
  return new ApiError("too_many_failed_attempts", "Too many sign-in attempts; try again later.", null, {
    "retry-after": String(refusal.retryAfterSeconds),
  });
}
