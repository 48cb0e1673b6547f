import { KeyLedger } from "../../src/object-storage/key-ledger";

/**
 * Durable Object storage as release 0.1.0 left it: the tables its code created, exactly as it
 * created them, and no storage version (that release had none). Frozen here on purpose: the
 * upgrade tests turn an object's storage back into this layout and let the current code upgrade
 * it, so this must never follow later changes to the objects' tables.
 */
export const RELEASE_0_1_0_TABLES = {
  KeyGuard: {
    guard: `CREATE TABLE IF NOT EXISTS guard (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      policy TEXT NOT NULL,
      requests INTEGER NOT NULL DEFAULT 0,
      rate_limited INTEGER NOT NULL DEFAULT 0,
      last_used_at INTEGER)`,
    hits: "CREATE TABLE IF NOT EXISTS hits (seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL)",
  },
  AttemptGuard: {
    failures: "CREATE TABLE IF NOT EXISTS failures (seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL)",
  },
} as const;

const userTables = (sql: SqlStorage) =>
  sql
    .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '_cf_%' AND name NOT LIKE 'sqlite_%'")
    .toArray()
    .map((t) => t.name);

/**
 * Rewrites an object's storage into `tables` (one class's RELEASE_0_1_0_TABLES), keeping every row
 * of those tables in the columns that release had, and dropping everything else, the storage
 * version included. Run inside the object (runInDurableObject), then evict it.
 */
export function rewriteAsReleaseZero(sql: SqlStorage, tables: Record<string, string>): void {
  const existing = new Set(userTables(sql));
  const kept = new Map<string, Record<string, SqlStorageValue>[]>();
  for (const name of Object.keys(tables)) kept.set(name, existing.has(name) ? sql.exec(`SELECT * FROM "${name}"`).toArray() : []);
  // That release logged one row per counted request (`hits`, `failures`); today's objects count
  // them in entries (a key's in its ledger, an attempt counter's in `window_entries`). Expanded
  // back, a request per row, in order; a key's counters come from its ledger too.
  const expand = (entries: { end: number; count: number }[]) => {
    const rows: Record<string, SqlStorageValue>[] = [];
    for (const { end, count } of entries.sort((a, b) => a.end - b.end)) for (let i = 0; i < count; i++) rows.push({ seq: rows.length + 1, ts: end });
    return rows;
  };
  if ("hits" in tables && existing.has("ledger")) {
    const { head, entries } = new KeyLedger(sql).load({
      windowStarts: () => Number.NEGATIVE_INFINITY,
      hoursAfter: Number.POSITIVE_INFINITY,
      oldestEvent: () => Number.POSITIVE_INFINITY,
    });
    kept.set("hits", expand(entries.get("default") ?? []));
    for (const row of kept.get("guard") ?? []) {
      if (head) Object.assign(row, { requests: head.usage.requests, rate_limited: head.usage.rateLimited, last_used_at: head.usage.lastUsedAt });
      // That release's policy held its one window as limit and windowSeconds.
      const { windows, credits: _credits, quota: _quota, ...policy } = JSON.parse(row.policy as string) as { windows: { limit: number; windowSeconds: number }[] } & Record<string, unknown>;
      row.policy = JSON.stringify({ ...policy, limit: windows[0]!.limit, windowSeconds: windows[0]!.windowSeconds });
    }
  }
  if ("failures" in tables && existing.has("window_entries")) {
    const entries = sql.exec<{ end_at: number; count: number }>("SELECT end_at, count FROM window_entries").toArray();
    kept.set("failures", expand(entries.map((row) => ({ end: row.end_at, count: row.count }))));
  }
  for (const name of existing) sql.exec(`DROP TABLE "${name}"`);
  for (const [name, ddl] of Object.entries(tables)) {
    sql.exec(ddl);
    const columns = sql.exec<{ name: string }>(`SELECT name FROM pragma_table_info('${name}')`).toArray().map((c) => c.name);
    for (const row of kept.get(name)!) {
      const values = columns.map((c) => row[c] ?? null);
      sql.exec(`INSERT INTO "${name}" (${columns.join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`, ...values);
    }
  }
}

/** The tables an object holds now, for checking a rewrite. */
export { userTables };
