/** The largest limit a key may have: paid plans look like "10 million per month". */
export const MAX_LIMIT = 10_000_000;
/** The longest window a key may have: a calendar month of 31 days. */
export const MAX_WINDOW_SECONDS = 31 * 86_400;

/**
 * Limits up to this many requests per window are counted exactly: one entry per admitted
 * millisecond, so a request stops counting at exactly its time + the window.
 */
export const EXACT_LIMIT = 4_000;
/**
 * Larger limits are counted in buckets, each 1/BUCKETS_PER_WINDOW of the window long: at most
 * BUCKETS_PER_WINDOW + 2 live at once, whatever the limit. A request counts until the end of its
 * bucket + the window, so it is never forgotten early (no over-admission) and at most one bucket
 * late (under-admission only for requests within 1/1,000 of the window's length of its edge).
 */
export const BUCKETS_PER_WINDOW = 1_000;

/** How finely a window of this limit and length counts: 1 ms (exact), or a bucket's length. */
export function bucketWidthMs(limit: number, windowMs: number): number {
  return limit <= EXACT_LIMIT ? 1 : Math.max(1, Math.ceil(windowMs / BUCKETS_PER_WINDOW));
}

/** The last millisecond of the bucket `at` falls in: the time a request at `at` is counted as made. */
export function bucketEnd(at: number, widthMs: number): number {
  return widthMs === 1 ? at : Math.floor(at / widthMs) * widthMs + widthMs - 1;
}

/** Where a key stands in its window, as of one decision: what the rate-limit headers say. */
export interface WindowState {
  admitted: boolean;
  limit: number;
  remaining: number;
  /**
   * Unix ms when `remaining` next grows: when the oldest of the newest `limit` counted requests
   * leaves the window (now, when none is counted). When refused, that is when a slot frees.
   */
  resetAt: number;
  /** Only when refused: ms until a slot frees. */
  retryAfterMs: number;
  now: number;
}

/** A window the decision can count in (the key's object's sliding window) or only look at. */
export interface Window {
  tryAdmit(now: number, limit: number, windowMs: number): WindowState;
  peek(now: number, limit: number, windowMs: number): WindowState;
}
