import type { Config } from "../config";
import { addressBucket, clientAddress } from "../http/client-address";
import { ApiError } from "../http/errors";
import { attemptGuard } from "../ratelimit/guard-client";
import { retryAfterSeconds } from "../ratelimit/headers";
import { IsolateCache } from "../store/isolate-cache";

/**
 * Failed authentications are limited per client IP. The IP's Durable Object counts them; once it
 * refuses, this isolate remembers until when, so a blocked prober costs no I/O at all.
 */
const blockedUntil = new IsolateCache<number>(10_000, 3_600_000);

/** The client whose failures are counted together (see addressBucket). */
export function clientIp(request: Request): string {
  return addressBucket(clientAddress(request.headers));
}

/** The counter's object: its own namespace, so no client value can name a sign-in counter. */
export function attemptBucket(ip: string): string {
  return `ip:${ip}`;
}

export function assertNotBlocked(ip: string, now = Date.now()): void {
  const until = blockedUntil.get(ip, now);
  if (until !== undefined && until > now) throw tooManyAttempts(until - now);
}

/** Counts one failure; returns the error to answer with (the 401, or a 429 once over the limit). */
export async function failedAttempt(env: Env, config: Config, ip: string, failure: ApiError): Promise<ApiError> {
  try {
    const window = await attemptGuard(env, attemptBucket(ip)).recordAttempt(config.failedAuth.limit, config.failedAuth.windowSeconds);
    if (window.admitted) return failure;
    blockedUntil.set(ip, window.now + window.retryAfterMs);
    return tooManyAttempts(window.retryAfterMs);
  } catch (error) {
    // The request is refused either way; a counting fault must not turn a 401 into a 503.
    console.error("keygate: failed-attempt counter unavailable", error);
    return failure;
  }
}

function tooManyAttempts(retryAfterMs: number): ApiError {
  return new ApiError("too_many_failed_attempts", "Too many failed authentication attempts from this client; try again later.", null, {
    "retry-after": String(retryAfterSeconds(retryAfterMs)),
  });
}
