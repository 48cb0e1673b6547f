/** Where keygate reads the time, so a test can move it without touching the platform's clock. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
