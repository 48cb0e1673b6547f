import { bucketEnd, bucketWidthMs, type Window, type WindowState } from "../authority/window";

/** Admissions counted as made at `end` (the last ms of their bucket), and where they are stored. */
interface Entry {
  end: number;
  count: number;
  slot: number;
}

/**
 * Rows are reused round a ring of this many slots, so storage never needs a DELETE (each one a
 * billed row written) and never holds more than this many rows. A new entry takes the slot of
 * the entry made SLOTS entries before it; that one is always out of the window, because no more
 * than EXACT_LIMIT (an admission needs fewer counted requests than the limit, and every entry
 * counts at least one) or BUCKETS_PER_WINDOW + 2 (buckets a window spans) entries are ever live
 * when one is made.
 */
export const SLOTS = 8_192;

/** The table a sliding window lives in; an upgrade step creates it too, to copy older logs in. */
export function windowTable(table: string): string {
  return `CREATE TABLE IF NOT EXISTS ${table} (slot INTEGER PRIMARY KEY, end_at INTEGER NOT NULL, count INTEGER NOT NULL)`;
}

/**
 * A sliding window over a key's (or a client's) admitted requests: a request is admitted iff fewer
 * than `limit` admitted requests are counted in `(now - window, now]`. Up to EXACT_LIMIT the count
 * is exact to the millisecond; above it, in buckets of 1/1,000 of the window (see
 * authority/window.ts for the bound). Refused requests are not counted.
 *
 * Memory decides; storage follows. `tryAdmit` only changes memory and marks what changed;
 * `flush()` writes it, one row per changed entry (an exact entry per admitted millisecond, or the
 * bucket's running count), whenever the owner says: both objects write after their replies,
 * batched (see WriteBehind). Memory and rows are bounded by SLOTS whatever the limit.
 *
 * Entries leave memory when they leave the window; after a limit decrease the extra entries are
 * kept until they expire, so raising the limit again within the same window still counts them.
 */
export class SlidingWindow implements Window {
  /** Oldest first, `end` strictly increasing; `entries[head]` is the oldest live one. */
  private entries: Entry[] = [];
  private head = 0;
  /** Requests counted by the live entries. */
  private total = 0;
  /**
   * The bucket width the entries were made with (1: exact); 0 until the first decision, which
   * knows the width and re-buckets what was loaded (a no-op when the width is the same).
   */
  private widthMs = 0;
  private nextSlot = 0;
  /** Entries changed since the last flush. */
  private readonly changed = new Set<Entry>();
  /** After re-bucketing, the table is rewritten whole on the next flush. */
  private rewrite = false;

  /**
   * Loads the entries whose end is after `countedAfter` (pass `now - window`: older ones can no
   * longer count; rows of a dead entry stay until their slot is reused).
   */
  constructor(private readonly sql: SqlStorage, private readonly table: string, countedAfter = Number.NEGATIVE_INFINITY) {
    sql.exec(windowTable(table));
    const rows = sql.exec<{ slot: number; end_at: number; count: number }>(
      `SELECT slot, end_at, count FROM ${table} WHERE end_at > ? ORDER BY end_at`,
      Math.max(countedAfter, Number.MIN_SAFE_INTEGER),
    );
    for (const row of rows) {
      this.entries.push({ end: row.end_at, count: row.count, slot: row.slot });
      this.total += row.count;
    }
    // Continue the ring after the newest entry: the slots behind it hold older entries.
    const newest = this.entries[this.entries.length - 1];
    if (newest) this.nextSlot = (newest.slot + 1) % SLOTS;
  }

  /** Entries in memory (each at most one stored row). */
  get entryCount(): number {
    return this.entries.length - this.head;
  }

  /** Whether anything changed that the table does not have yet. */
  get dirty(): boolean {
    return this.rewrite || this.changed.size > 0;
  }

  /** Counts a request if the window has room; memory only (see flush). */
  tryAdmit(now: number, limit: number, windowMs: number): WindowState {
    this.prepare(now, limit, windowMs);
    if (this.total >= limit) return this.state(false, now, limit, windowMs);
    const end = bucketEnd(now, this.widthMs);
    const newest = this.entries[this.entries.length - 1];
    if (newest && this.entryCount > 0 && newest.end >= end) {
      // The same bucket, or the clock stepped back: count it at the newest time, which keeps the
      // order and makes it leave later, never earlier, than it should.
      newest.count++;
      this.changed.add(newest);
    } else {
      const entry = { end, count: 1, slot: this.nextSlot };
      this.nextSlot = (this.nextSlot + 1) % SLOTS;
      this.entries.push(entry);
      this.changed.add(entry);
    }
    this.total++;
    return this.state(true, now, limit, windowMs);
  }

  /** The window as it stands, without counting anything. */
  peek(now: number, limit: number, windowMs: number): WindowState {
    this.prepare(now, limit, windowMs);
    return this.state(this.total < limit, now, limit, windowMs);
  }

  /**
   * Writes what changed since the last flush: one upserted row per changed entry still live, or,
   * after re-bucketing, the whole table. The caller decides when, and its transaction holds it.
   */
  flush(): void {
    if (this.rewrite) {
      this.sql.exec(`DELETE FROM ${this.table}`);
      this.entries = this.entries.slice(this.head);
      this.head = 0;
      this.entries.forEach((entry, slot) => {
        entry.slot = slot;
        this.write(entry);
      });
      this.nextSlot = this.entries.length % SLOTS;
      this.rewrite = false;
    } else {
      // Entries that expired before this flush were dropped from `changed`: nothing to write.
      for (const entry of this.changed) this.write(entry);
    }
    this.changed.clear();
  }

  private write(entry: Entry): void {
    this.sql.exec(
      `INSERT INTO ${this.table} (slot, end_at, count) VALUES (?, ?, ?)
       ON CONFLICT (slot) DO UPDATE SET end_at = excluded.end_at, count = excluded.count`,
      entry.slot,
      entry.end,
      entry.count,
    );
  }

  private prepare(now: number, limit: number, windowMs: number): void {
    this.expire(now, windowMs);
    const widthMs = bucketWidthMs(limit, windowMs);
    if (widthMs !== this.widthMs) this.rebucket(widthMs);
  }

  /**
   * Moves every entry to the end of its bucket at the new width, merging entries that land in the
   * same bucket. An entry only ever moves later (never forgotten early); going to a finer width
   * leaves entries where they are (an exact window then counts each as made at its old end).
   */
  private rebucket(widthMs: number): void {
    this.widthMs = widthMs;
    if (widthMs === 1) return;
    const merged: Entry[] = [];
    let moved = false;
    for (let i = this.head; i < this.entries.length; i++) {
      const entry = this.entries[i]!;
      const end = bucketEnd(entry.end, widthMs);
      const last = merged[merged.length - 1];
      if (last && last.end >= end) {
        last.count += entry.count;
        moved = true;
      } else {
        if (end !== entry.end) moved = true;
        merged.push({ ...entry, end });
      }
    }
    if (!moved) return;
    this.entries = merged;
    this.head = 0;
    this.changed.clear();
    this.rewrite = true;
  }

  private state(admitted: boolean, now: number, limit: number, windowMs: number): WindowState {
    const resetAt = this.total > 0 ? this.nextRelease(limit) + windowMs : now;
    return {
      admitted,
      limit,
      remaining: limit - Math.min(this.total, limit),
      resetAt,
      retryAfterMs: admitted ? 0 : Math.max(0, resetAt - now),
      now,
    };
  }

  /**
   * When `remaining` next grows, minus the window: the end of the entry whose expiry brings the
   * count below the limit (the oldest entry, unless a limit decrease left more than the limit).
   */
  private nextRelease(limit: number): number {
    let toRelease = Math.max(1, this.total - limit + 1);
    for (let i = this.head; i < this.entries.length; i++) {
      const entry = this.entries[i]!;
      toRelease -= entry.count;
      if (toRelease <= 0) return entry.end;
    }
    return this.entries[this.entries.length - 1]!.end;
  }

  /** Drops the entries that have left the window from memory; their rows are reused later. */
  private expire(now: number, windowMs: number): void {
    const cutoff = now - windowMs;
    while (this.head < this.entries.length && this.entries[this.head]!.end <= cutoff) {
      const gone = this.entries[this.head]!;
      this.total -= gone.count;
      this.changed.delete(gone);
      this.head++;
    }
    // Compact once the dead prefix outweighs the live entries, so memory follows the live count.
    if (this.head > 64 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }
}
