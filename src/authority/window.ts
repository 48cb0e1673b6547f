/** Where a key stands in its window, as of one decision: what the rate-limit headers say. */
export interface WindowState {
  admitted: boolean;
  limit: number;
  remaining: number;
  /**
   * Unix ms when `remaining` next grows: when the oldest of the newest `limit` logged requests
   * leaves the window (now, when none is logged). When refused, that is when a slot frees.
   */
  resetAt: number;
  /** Only when refused: ms until a slot frees. */
  retryAfterMs: number;
  now: number;
}

/** A window the decision can count in (the key's object's sliding log) or only look at. */
export interface Window {
  tryAdmit(now: number, limit: number, windowMs: number): WindowState;
  peek(now: number, limit: number, windowMs: number): WindowState;
}
