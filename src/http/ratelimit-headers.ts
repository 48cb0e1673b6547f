import type { LimitState } from "../authority/decision";

/**
 * One of a key's limits as callers see it, on the wire of verify (HTTP and RPC) and behind every
 * rate-limit header: a window (`default`, or the names given), the key's `credits`, the tenant's
 * `project` quota. `reset` is Unix ms when `remaining` next grows (null: never by waiting).
 */
export interface LimitInfo {
  name: string;
  limit: number;
  remaining: number;
  reset: number | null;
  window_seconds: number | null;
}

/** The classic single figure: the key's tightest window (verify's `ratelimit`, the x-ratelimit-* trio). */
export interface RateLimitInfo {
  limit: number;
  remaining: number;
  reset: number;
  window_seconds: number;
}

export function limitInfos(limits: readonly LimitState[]): LimitInfo[] {
  return limits.map(({ name, limit, remaining, resetAt, windowSeconds }) => ({ name, limit, remaining, reset: resetAt, window_seconds: windowSeconds }));
}

/** The window with the least left (the sooner reset on a tie), or null when the key has none to show. */
export function tightestWindow(limits: readonly LimitState[]): RateLimitInfo | null {
  let tightest: LimitState | null = null;
  for (const limit of limits) {
    if (!limit.window) continue;
    if (!tightest || limit.remaining < tightest.remaining || (limit.remaining === tightest.remaining && (limit.resetAt ?? 0) < (tightest.resetAt ?? 0))) tightest = limit;
  }
  return tightest ? { limit: tightest.limit, remaining: tightest.remaining, reset: tightest.resetAt!, window_seconds: tightest.windowSeconds! } : null;
}

/**
 * The headers of every response to a request with a usable key, the gateway's and the
 * `keygate/hono` middleware's alike: the classic `x-ratelimit-*` trio for the tightest window
 * (reset as Unix seconds), and the IETF draft pair listing every limit that applies
 * (`RateLimit-Policy: "burst";q=20;w=1, "project";q=1000000;w=2592000` and `RateLimit` with each
 * one's remaining and seconds to reset). A refusal by a limit adds `Retry-After` (whole seconds,
 * rounded up) when waiting helps.
 */
export function rateLimitHeaders(limits: readonly LimitInfo[], ratelimit: RateLimitInfo | null, now: number, retryAfterMs: number | null): Record<string, string> {
  const headers: Record<string, string> = {};
  if (ratelimit) {
    headers["x-ratelimit-limit"] = String(ratelimit.limit);
    headers["x-ratelimit-remaining"] = String(ratelimit.remaining);
    headers["x-ratelimit-reset"] = String(Math.ceil(ratelimit.reset / 1000));
  }
  if (limits.length > 0) {
    headers["ratelimit-policy"] = limits.map((l) => `"${l.name}";q=${l.limit}${l.window_seconds === null ? "" : `;w=${l.window_seconds}`}`).join(", ");
    headers.ratelimit = limits.map((l) => `"${l.name}";r=${l.remaining}${l.reset === null ? "" : `;t=${Math.ceil(Math.max(0, l.reset - now) / 1000)}`}`).join(", ");
  }
  if (retryAfterMs !== null) headers["retry-after"] = String(retryAfterSeconds(retryAfterMs));
  return headers;
}

/** `Retry-After` in whole seconds, rounded up, never 0 for a refusal. */
export function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}
