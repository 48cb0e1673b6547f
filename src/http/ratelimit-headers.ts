import type { WindowState } from "../authority/window";

/**
 * A key's window as callers see it, on the wire of verify (HTTP and RPC) and behind every
 * rate-limit header: `reset` is Unix ms when `remaining` next grows (when refused: when a slot frees).
 */
export interface RateLimitInfo {
  limit: number;
  remaining: number;
  reset: number;
  window_seconds: number;
}

export function rateLimitInfo(window: WindowState, windowSeconds: number): RateLimitInfo {
  return { limit: window.limit, remaining: window.remaining, reset: window.resetAt, window_seconds: windowSeconds };
}

/**
 * The classic `x-ratelimit-*` trio (reset as Unix seconds) and the IETF draft pair, on every
 * response to a request with a valid key; `Retry-After` (whole seconds, rounded up) when refused.
 * The gateway and the `keygate/hono` middleware both answer with exactly these.
 */
export function rateLimitHeaders(info: RateLimitInfo, now: number, refused: boolean): Record<string, string> {
  const msToReset = Math.max(0, info.reset - now);
  const headers: Record<string, string> = {
    "x-ratelimit-limit": String(info.limit),
    "x-ratelimit-remaining": String(info.remaining),
    "x-ratelimit-reset": String(Math.ceil(info.reset / 1000)),
    "ratelimit-policy": `"default";q=${info.limit};w=${info.window_seconds}`,
    ratelimit: `"default";r=${info.remaining};t=${Math.ceil(msToReset / 1000)}`,
  };
  if (refused) headers["retry-after"] = String(retryAfterSeconds(msToReset));
  return headers;
}

/** `Retry-After` in whole seconds, rounded up, never 0 for a refusal. */
export function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}
