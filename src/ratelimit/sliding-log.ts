export interface WindowState {
  admitted: boolean;
  limit: number;
  remaining: number;
  /** Unix ms when the oldest counted request leaves the window (now, when none is counted). */
  resetAt: number;
  /** Only when refused: ms until a slot frees. */
  retryAfterMs: number;
  now: number;
}

/**
 * An exact sliding log persisted in a SQLite-backed Durable Object: a request is admitted iff
 * fewer than `limit` admitted requests lie in the last `windowMs`. Refused requests are not
 * logged. Only the newest `limit` entries are kept, which is exact: the count only matters up to
 * `limit`, and the oldest kept entry is the one whose departure frees the next slot.
 */
export class SlidingLog {
  private times: number[] = [];
  private head = 0;
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

  get count(): number {
    return this.times.length - this.head;
  }

  /** Counts a request if the window has room; persists the change before the caller replies. */
  tryAdmit(now: number, limit: number, windowMs: number): WindowState {
    this.prune(now, limit, windowMs);
    if (this.count < limit) {
      // Never let the log run backwards if the clock does.
      const last = this.count > 0 ? this.times[this.times.length - 1]! : now;
      const ts = Math.max(now, last);
      const seq = this.firstSeq + this.times.length - this.head;
      this.times.push(ts);
      this.sql.exec(`INSERT INTO ${this.table} (seq, ts) VALUES (?, ?)`, seq, ts);
      return this.state(true, now, limit, windowMs);
    }
    return this.state(false, now, limit, windowMs);
  }

  /** The window as it stands, without counting anything. */
  peek(now: number, limit: number, windowMs: number): WindowState {
    this.prune(now, limit, windowMs);
    return this.state(this.count < limit, now, limit, windowMs);
  }

  private state(admitted: boolean, now: number, limit: number, windowMs: number): WindowState {
    const oldest = this.count > 0 ? this.times[this.head]! : null;
    const resetAt = oldest === null ? now : oldest + windowMs;
    return {
      admitted,
      limit,
      remaining: Math.max(0, limit - this.count),
      resetAt,
      retryAfterMs: admitted ? 0 : Math.max(0, resetAt - now),
      now,
    };
  }

  private prune(now: number, limit: number, windowMs: number): void {
    const cutoff = now - windowMs;
    let dropped = 0;
    while (this.count > 0 && (this.times[this.head]! <= cutoff || this.count > limit)) {
      this.head++;
      dropped++;
    }
    if (dropped === 0) return;
    this.firstSeq += dropped;
    this.sql.exec(`DELETE FROM ${this.table} WHERE seq < ?`, this.firstSeq);
    if (this.head > 64 && this.head * 2 > this.times.length) {
      this.times = this.times.slice(this.head);
      this.head = 0;
    }
  }
}
