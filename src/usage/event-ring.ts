/** Rows that fell out of the ring are deleted once this many have: one delete per 16 inserts. */
const PRUNE_EVERY = 16;

/**
 * The last `bound` events of a Durable Object, newest kept, in a SQLite table whose `seq` column
 * orders them. Events wait in memory and are written by `flush()` in the object's next write.
 * Rows that fell out of the ring are never read, and are deleted in batches, so the table holds
 * at most `bound + PRUNE_EVERY` rows.
 */
export class EventRing<Row extends Record<string, string | number | null>> {
  private pending: Row[] = [];
  private nextSeq: number;
  private prunedBelow = 0;

  constructor(
    private readonly sql: SqlStorage,
    private readonly table: string,
    private readonly columns: readonly (keyof Row & string)[],
    private readonly bound: number,
  ) {
    this.nextSeq = (sql.exec<{ seq: number | null }>(`SELECT max(seq) AS seq FROM ${table}`).one().seq ?? 0) + 1;
  }

  push(row: Row): void {
    this.pending.push(row);
  }

  get dirty(): boolean {
    return this.pending.length > 0;
  }

  flush(): void {
    if (this.pending.length === 0) return;
    const placeholders = this.columns.map(() => "?").join(", ");
    // More than a ring's worth pending: the older ones would be deleted at once, so skip them.
    for (const row of this.pending.slice(-this.bound)) {
      this.sql.exec(
        `INSERT INTO ${this.table} (seq, ${this.columns.join(", ")}) VALUES (?, ${placeholders})`,
        this.nextSeq++,
        ...this.columns.map((column) => row[column]),
      );
    }
    this.pending = [];
    const oldest = this.nextSeq - this.bound;
    if (oldest - this.prunedBelow >= PRUNE_EVERY) {
      this.sql.exec(`DELETE FROM ${this.table} WHERE seq < ?`, oldest);
      this.prunedBelow = oldest;
    }
  }

  /** Newest first, before `beforeSeq` if given; one more than `limit` tells whether more follow. */
  page(limit: number, beforeSeq: number | null): { rows: (Row & { seq: number })[]; hasMore: boolean } {
    const rows = this.sql
      .exec<Row & { seq: number }>(
        `SELECT * FROM ${this.table} WHERE seq < ? AND seq >= ? ORDER BY seq DESC LIMIT ?`,
        beforeSeq ?? Number.MAX_SAFE_INTEGER,
        this.nextSeq - this.bound,
        limit + 1,
      )
      .toArray();
    return { rows: rows.slice(0, limit), hasMore: rows.length > limit };
  }
}
