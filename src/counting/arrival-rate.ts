/** How far back the rate looks: admissions older than this say nothing about the next ones. */
export const RATE_SPAN_MS = 60_000;
/** The most admission times kept. */
const KEPT = 32;

/**
 * A counter's recent rate of admissions, from the times of its last few (at most KEPT, within
 * RATE_SPAN_MS): what a reservation is sized by. Memory only; a counter that starts seeds it from
 * what its window recorded.
 */
export class ArrivalRate {
  private readonly times: number[] = [];

  note(at: number): void {
    this.times.push(at);
    if (this.times.length > KEPT) this.times.shift();
  }

  /**
   * Admissions per second at `now`, from those within RATE_SPAN_MS: the rate their gaps show, but
   * no more than their count over the time since the oldest of them, so a key gone quiet reads
   * quieter each second it stays so. One admission alone says nothing: 0.
   */
  perSecond(now: number): number {
    let first = this.times.length;
    while (first > 0 && this.times[first - 1]! > now - RATE_SPAN_MS) first--;
    const recent = this.times.length - first;
    if (recent < 2) return 0;
    const oldest = this.times[first]!;
    const newest = this.times[this.times.length - 1]!;
    const byGaps = ((recent - 1) * 1000) / Math.max(1, newest - oldest);
    const sinceOldest = (recent * 1000) / Math.max(1, now - oldest);
    return Math.min(byGaps, sinceOldest);
  }
}
