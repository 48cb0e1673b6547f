import type { WindowChanges, WindowEntry } from "../counting/sliding-window";

/**
 * Rows are reused round a ring of this many slots, so storage never needs a DELETE (each one a
 * billed row written) and never holds more than this many rows. A new entry takes the slot of
 * the entry made SLOTS entries before it; that one is always out of the window, because no more
 * than EXACT_LIMIT (an admission needs fewer counted requests than the limit, and every entry
 * counts at least one) or BUCKETS_PER_WINDOW + 2 (buckets a window spans) entries are ever live
 * when one is made.
 */
export const SLOTS = 8_192;

/** The table a window's rows live in; an upgrade step creates it too, to copy older logs in. */
export function windowTable(table: string): string {
  return `CREATE TABLE IF NOT EXISTS ${table} (slot INTEGER PRIMARY KEY, end_at INTEGER NOT NULL, count INTEGER NOT NULL)`;
}

/**
 * A sliding window's entries as rows of a Durable Object's SQLite table, one row per entry, reused
 * round a ring of SLOTS: the storage of the attempt counters, whose every write is small.
 */
export class WindowRows {
  private nextSlot = 0;

  constructor(
    private readonly sql: SqlStorage,
    private readonly table: string,
  ) {
    sql.exec(windowTable(table));
  }

  /** The entries whose end is after `countedAfter`; older rows stay until their slot is reused. */
  load(countedAfter = Number.NEGATIVE_INFINITY): WindowEntry[] {
    const entries = this.sql
      .exec<{ slot: number; end_at: number; count: number }>(
        `SELECT slot, end_at, count FROM ${this.table} WHERE end_at > ? ORDER BY end_at`,
        Math.max(countedAfter, Number.MIN_SAFE_INTEGER),
      )
      .toArray()
      .map((row) => ({ end: row.end_at, count: row.count, stored: row.slot }));
    // Continue the ring after the newest entry: the slots behind it hold older entries.
    const newest = entries[entries.length - 1];
    if (newest) this.nextSlot = (newest.stored + 1) % SLOTS;
    return entries;
  }

  /** Writes what the window changed: one upserted row per entry, or the whole table after re-bucketing. */
  write(changes: WindowChanges): void {
    if (changes.rewrite) {
      this.sql.exec(`DELETE FROM ${this.table}`);
      this.nextSlot = 0;
    }
    for (const entry of changes.entries) {
      if (changes.rewrite || entry.stored < 0) {
        entry.stored = this.nextSlot;
        this.nextSlot = (this.nextSlot + 1) % SLOTS;
      }
      this.sql.exec(
        `INSERT INTO ${this.table} (slot, end_at, count) VALUES (?, ?, ?)
         ON CONFLICT (slot) DO UPDATE SET end_at = excluded.end_at, count = excluded.count`,
        entry.stored,
        entry.end,
        entry.count,
      );
    }
  }
}
