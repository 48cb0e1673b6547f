import { HOUR_MS, type CodeCounts } from "./buckets";

interface Hour {
  counts: CodeCounts;
  dirty: boolean;
}

/**
 * Counts by outcome code per UTC hour, in a Durable Object's SQLite table `(hour, counts, synced)`.
 * Counting happens in memory; `flush()` writes the hours that changed (absolute values, so a
 * repeated write is harmless) in whatever write the object is making anyway. Rows older than
 * `retentionMs` are dropped when a new hour starts, so the table holds at most
 * retentionMs / 1 h + 1 rows. `synced` marks rows already forwarded elsewhere (tenant totals).
 */
export class HourlyCounts {
  /** The hours counted since the object started, read from storage on first touch. */
  private readonly hours = new Map<number, Hour>();
  private newestHour = 0;
  private pruneDue = false;

  constructor(
    private readonly sql: SqlStorage,
    private readonly table: string,
    private readonly retentionMs: number,
  ) {}

  add(at: number, code: string): void {
    const hour = Math.floor(at / HOUR_MS) * HOUR_MS;
    const entry = this.hours.get(hour) ?? this.load(hour);
    entry.counts[code] = (entry.counts[code] ?? 0) + 1;
    entry.dirty = true;
  }

  get dirty(): boolean {
    for (const entry of this.hours.values()) if (entry.dirty) return true;
    return false;
  }

  /** Writes every changed hour; call inside the object's write. */
  flush(): void {
    for (const [hour, entry] of this.hours) {
      if (!entry.dirty) continue;
      this.sql.exec(
        `INSERT INTO ${this.table} (hour, counts, synced) VALUES (?, ?, 0)
         ON CONFLICT (hour) DO UPDATE SET counts = excluded.counts, synced = 0`,
        hour,
        JSON.stringify(entry.counts),
      );
      entry.dirty = false;
    }
    if (this.pruneDue) {
      this.sql.exec(`DELETE FROM ${this.table} WHERE hour <= ?`, this.newestHour - this.retentionMs);
      this.pruneDue = false;
    }
    // Only the newest hour is likely to be counted again; older ones are re-read if ever needed.
    for (const hour of this.hours.keys()) if (hour < this.newestHour) this.hours.delete(hour);
  }

  /** Stored hours in `[from, to)`, oldest first (flush first for the latest counts). */
  read(from: number, to: number): [number, CodeCounts][] {
    return this.sql
      .exec<{ hour: number; counts: string }>(`SELECT hour, counts FROM ${this.table} WHERE hour >= ? AND hour < ? ORDER BY hour`, from, to)
      .toArray()
      .map((row) => [row.hour, JSON.parse(row.counts) as CodeCounts]);
  }

  /** Stored hours not yet forwarded. */
  unsynced(): { hour: number; counts: string }[] {
    return this.sql.exec<{ hour: number; counts: string }>(`SELECT hour, counts FROM ${this.table} WHERE synced = 0 ORDER BY hour`).toArray();
  }

  /** Marks an hour forwarded, unless it was counted again meanwhile (then it goes next time). */
  markSynced(hour: number, counts: string): void {
    this.sql.exec(`UPDATE ${this.table} SET synced = 1 WHERE hour = ? AND counts = ?`, hour, counts);
  }

  private load(hour: number): Hour {
    const row = this.sql.exec<{ counts: string }>(`SELECT counts FROM ${this.table} WHERE hour = ?`, hour).toArray()[0];
    const entry: Hour = { counts: row ? (JSON.parse(row.counts) as CodeCounts) : {}, dirty: false };
    this.hours.set(hour, entry);
    if (hour > this.newestHour) {
      if (!row) this.pruneDue = true;
      this.newestHour = hour;
    }
    return entry;
  }
}
