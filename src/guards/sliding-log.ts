import type { Window, WindowState } from "../authority/window";

/**
 * An exact sliding log persisted in a SQLite-backed Durable Object: a request is admitted iff
 * fewer than `limit` admitted requests lie in the window `(now - windowMs, now]`, so an entry
 * logged at `t` stops counting at exactly `t + windowMs`. Refused requests are not logged.
 *
 * Entries are dropped only when they leave the window, never because the log is "full": the
 * log never holds more than `limit` entries while the limit stays put (a full log refuses), and
 * after a limit decrease the extra entries are kept until they expire, so that raising the limit
 * again within the same window still counts them. Memory is therefore bounded by the largest
 * limit in force during the last window.
 */
export class SlidingLog implements Window {
  /** Admission times, oldest first, never decreasing; `times[head]` is the oldest live entry. */
  private times: number[] = [];
  private head = 0;
  /** The `seq` of `times[head]` in the table; seqs are contiguous, so deletes are one range. */
  private firstSeq = 0;

  constructor(private readonly sql: SqlStorage, private readonly table: string) {
    sql.exec(`CREATE TABLE IF NOT EXISTS ${table} (seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL)`);
    let first = true;
    for (const row of sql.exec<{ seq: number; ts: number }>(`SELECT seq, ts FROM ${table} ORDER BY seq`)) {
      if (first) this.firstSeq = row.seq;
      first = false;
      this.times.push(row.ts);
    }
  }

  /** Logged requests still in the window as of the last prune. */
  get count(): number {
    return this.times.length - this.head;
  }

  /** Counts a request if the window has room; the row is written before the caller replies. */
  tryAdmit(now: number, limit: number, windowMs: number): WindowState {
    this.expire(now, windowMs);
    if (this.count >= limit) return this.state(false, now, limit, windowMs);
    // If the clock steps back, log at the newest time instead: the order stays sorted, and the
    // entry leaves later, never earlier, than it should.
    const ts = this.count > 0 ? Math.max(now, this.times[this.times.length - 1]!) : now;
    this.sql.exec(`INSERT INTO ${this.table} (seq, ts) VALUES (?, ?)`, this.firstSeq + this.count, ts);
    this.times.push(ts);
    return this.state(true, now, limit, windowMs);
  }

  /** The window as it stands, without counting anything. */
  peek(now: number, limit: number, windowMs: number): WindowState {
    this.expire(now, windowMs);
    return this.state(this.count < limit, now, limit, windowMs);
  }

  private state(admitted: boolean, now: number, limit: number, windowMs: number): WindowState {
    // Only the newest `limit` entries decide anything: a slot frees when the oldest of them leaves.
    const counted = Math.min(this.count, limit);
    const resetAt = counted > 0 ? this.times[this.times.length - counted]! + windowMs : now;
    return {
      admitted,
      limit,
      remaining: limit - counted,
      resetAt,
      retryAfterMs: admitted ? 0 : Math.max(0, resetAt - now),
      now,
    };
  }

  /** Drops the entries that have left the window, from memory and from the table. */
  private expire(now: number, windowMs: number): void {
    const cutoff = now - windowMs;
    const before = this.head;
    while (this.count > 0 && this.times[this.head]! <= cutoff) this.head++;
    const dropped = this.head - before;
    if (dropped === 0) return;
    this.firstSeq += dropped;
    this.sql.exec(`DELETE FROM ${this.table} WHERE seq < ?`, this.firstSeq);
    // Compact once the dead prefix outweighs the live entries, so memory follows the live count.
    if (this.head > 64 && this.head * 2 > this.times.length) {
      this.times = this.times.slice(this.head);
      this.head = 0;
    }
  }
}
