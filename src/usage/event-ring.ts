/**
 * The last `bound` events of a Durable Object, newest kept, in a SQLite table whose `seq` column
 * orders them. Events wait in memory and are written by `flush()` in the object's next write;
 * each flush drops what fell out of the ring, so the table never holds more than `bound` rows.
 */
export class EventRing<Row extends Record<string, string | number | null>> {
  private pending: Row[] = [];
  private nextSeq: number;

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
    this.sql.exec(`DELETE FROM ${this.table} WHERE seq < ?`, this.nextSeq - this.bound);
  }

  /** Newest first, before `beforeSeq` if given; one more than `limit` tells whether more follow. */
  page(limit: number, beforeSeq: number | null): { rows: (Row & { seq: number })[]; hasMore: boolean } {
    const rows = this.sql
      .exec<Row & { seq: number }>(`SELECT * FROM ${this.table} WHERE seq < ? ORDER BY seq DESC LIMIT ?`, beforeSeq ?? Number.MAX_SAFE_INTEGER, limit + 1)
      .toArray();
    return { rows: rows.slice(0, limit), hasMore: rows.length > limit };
  }
}
