/** Where keygate reads the time: every route, service and Durable Object asks the one clock below. */
export interface Clock {
  now(): number;
}

/**
 * The platform's time, which a test may move forward (never back) to reach a moment without
 * waiting for it. One per isolate: the worker, its Durable Objects and, in the workerd test suite,
 * the tests themselves share it. Timers still run on the platform's time, measured from this
 * clock's readings, so moving it never makes a scheduled write come early.
 */
export class MovableClock implements Clock {
  private offsetMs = 0;

  now(): number {
    return Date.now() + this.offsetMs;
  }

  /** Moves the clock forward by `ms`. */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError("the clock only moves forward");
    this.offsetMs += ms;
  }
}

export const systemClock = new MovableClock();
