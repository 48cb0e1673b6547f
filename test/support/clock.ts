import { systemClock } from "../../src/clock";

/**
 * Moves keygate's clock (the one the worker, its Durable Objects and the tests share) to `at`, or
 * leaves it where it is if it is already past. Tests reach a moment this way instead of sleeping.
 */
export function moveClockTo(at: number): void {
  systemClock.advance(Math.max(0, at - systemClock.now()));
}
