/** One write's events, as stored: `first_seq` numbers the first, the rest follow in order. */
type ChunkRow = {
  chunk: number;
  first_seq: number;
  events: string;
};

/** The table a ring of event chunks lives in (see EventRing); an upgrade step creates it too. */
export function eventChunkTable(table: string): string {
  return `CREATE TABLE IF NOT EXISTS ${table} (
    slot INTEGER PRIMARY KEY, chunk INTEGER NOT NULL, first_seq INTEGER NOT NULL, events TEXT NOT NULL)`;
}

/**
 * The last `bound` events of a Durable Object, newest kept. Events wait in memory and each
 * `flush()` writes all of them as one row (a JSON array), so a flood of events costs one row
 * written per flush, not one per event (Cloudflare bills rows written). Rows are reused round a
 * ring of `bound + 1` slots, never deleted: the newest `bound` events lie in at most `bound`
 * chunks, so the slot a new chunk takes never holds one of them. Events are numbered (`seq`) in
 * the order they happened, for paging.
 */
export class EventRing<Row extends Record<string, string | number | null>> {
  private pending: Row[] = [];
  private nextSeq: number;
  private nextChunk: number;

  constructor(
    private readonly sql: SqlStorage,
    private readonly table: string,
    private readonly bound: number,
  ) {
    sql.exec(eventChunkTable(table));
    const newest = sql
      .exec<ChunkRow>(`SELECT chunk, first_seq, events FROM ${table} ORDER BY chunk DESC LIMIT 1`)
      .toArray()[0];
    this.nextChunk = newest ? newest.chunk + 1 : 0;
    this.nextSeq = newest ? newest.first_seq + (JSON.parse(newest.events) as unknown[]).length : 1;
  }

  push(row: Row): void {
    this.pending.push(row);
    // More than a ring's worth waiting: the oldest would never be read, but keep their numbers.
    if (this.pending.length > 2 * this.bound) {
      this.nextSeq += this.pending.length - this.bound;
      this.pending = this.pending.slice(-this.bound);
    }
  }

  get dirty(): boolean {
    return this.pending.length > 0;
  }

  flush(): void {
    if (this.pending.length === 0) return;
    const events = this.pending.slice(-this.bound);
    const skipped = this.pending.length - events.length;
    const chunk = this.nextChunk++;
    const firstSeq = this.nextSeq + skipped;
    this.sql.exec(
      `INSERT INTO ${this.table} (slot, chunk, first_seq, events) VALUES (?, ?, ?, ?)
       ON CONFLICT (slot) DO UPDATE SET chunk = excluded.chunk, first_seq = excluded.first_seq, events = excluded.events`,
      chunk % (this.bound + 1),
      chunk,
      firstSeq,
      JSON.stringify(events),
    );
    this.nextSeq += this.pending.length;
    this.pending = [];
  }

  /** Newest first, before `beforeSeq` if given; one more than `limit` tells whether more follow. */
  page(limit: number, beforeSeq: number | null): { rows: (Row & { seq: number })[]; hasMore: boolean } {
    const before = beforeSeq ?? Number.MAX_SAFE_INTEGER;
    const oldest = this.nextSeq - this.bound;
    const rows: (Row & { seq: number })[] = [];
    const chunks = this.sql.exec<ChunkRow>(
      `SELECT chunk, first_seq, events FROM ${this.table} WHERE first_seq < ? ORDER BY chunk DESC`,
      before,
    );
    for (const chunk of chunks) {
      const events = JSON.parse(chunk.events) as Row[];
      for (let i = events.length - 1; i >= 0 && rows.length <= limit; i--) {
        const seq = chunk.first_seq + i;
        if (seq < before && seq >= oldest) rows.push({ ...events[i]!, seq });
      }
      if (rows.length > limit || chunk.first_seq <= oldest) break;
    }
    return { rows: rows.slice(0, limit), hasMore: rows.length > limit };
  }
}
