import type { Config } from "../config";
import { ApiError } from "../http/errors";
import { IsolateCache } from "../store/isolate-cache";
import { attemptGuard } from "../ratelimit/guard-client";

/**
 * Failed authentications are limited per client IP. The IP's Durable Object counts them; once it
 * refuses, this isolate remembers until when, so a blocked prober costs no I/O at all.
 */
const blockedUntil = new IsolateCache<number>(10_000, 3_600_000);

export function clientIp(request: Request): string {
  return request.headers.get("cf-connecting-ip") ?? "unknown";
}

export function assertNotBlocked(ip: string, now = Date.now()): void {
  const until = blockedUntil.get(ip, now);
  if (until !== undefined && until > now) throw tooManyAttempts(until - now);
}

/** Counts one failure; returns the error to answer with (the 401, or a 429 once over the limit). */
export async function failedAttempt(env: Env, config: Config, ip: string, failure: ApiError): Promise<ApiError> {
  try {
    const window = await attemptGuard(env, ip).recordFailure(config.failedAuth.limit, config.failedAuth.windowSeconds);
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
    "retry-after": String(Math.max(1, Math.ceil(retryAfterMs / 1000))),
  });
}
