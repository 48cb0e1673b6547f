import type { WindowState } from "./sliding-log";

/**
 * The classic `x-ratelimit-*` trio (reset as Unix seconds) and the IETF draft pair, on every
 * response to a request with a valid key; `Retry-After` (whole seconds, rounded up) when refused.
 */
export function rateLimitHeaders(window: WindowState, windowSeconds: number): Record<string, string> {
  const secondsToReset = Math.max(0, Math.ceil((window.resetAt - window.now) / 1000));
  const headers: Record<string, string> = {
    "x-ratelimit-limit": String(window.limit),
    "x-ratelimit-remaining": String(window.remaining),
    "x-ratelimit-reset": String(Math.ceil(window.resetAt / 1000)),
    "ratelimit-policy": `"default";q=${window.limit};w=${windowSeconds}`,
    ratelimit: `"default";r=${window.remaining};t=${secondsToReset}`,
  };
  if (window.retryAfterMs > 0) headers["retry-after"] = String(retryAfterSeconds(window.retryAfterMs));
  return headers;
}

/** `Retry-After` in whole seconds, rounded up, never 0 for a refusal. */
export function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}
