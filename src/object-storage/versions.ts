/**
 * Versioned storage for SQLite-backed Durable Objects. D1 has `wrangler d1 migrations`; a Durable
 * Object's storage belongs to the object alone, so each object upgrades its own tables, in its
 * constructor, from whatever version the release that last ran it left there.
 *
 * A class's upgrades are a list of steps: step i takes storage from version i to version i + 1.
 * Version 0 is storage with no version record, which is both a brand-new object and an object
 * written by a release from before versioning (release 0.1.0), whose tables already exist. That is
 * why step 1 creates its tables IF NOT EXISTS: it adopts the old tables, rows and all.
 *
 * Every step runs in one synchronous transaction together with the new version number, so a step
 * that throws leaves storage exactly as it was, still at the old version, and the constructor
 * throws: the object refuses to run on half-upgraded storage. Because the whole upgrade is
 * synchronous and runs in the constructor, no request can reach the object before it finishes,
 * so no blockConcurrencyWhile is needed; a future step that must await something has to run
 * inside ctx.blockConcurrencyWhile instead.
 *
 * Steps only ever add (tables, columns, rows). Storage at a version newer than this code knows,
 * which happens when a deploy is rolled back, is therefore left alone and used as it is.
 */

/** One upgrade step, given the object's SQL storage; it runs inside a transaction. */
export type StorageStep = (sql: SqlStorage) => void;

/** Where each object keeps its storage version; one row. */
const VERSION_TABLE = "storage_version";

/** The object's storage version: 0 when nothing recorded one. */
export function storageVersion(sql: SqlStorage): number {
  const exists = sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", VERSION_TABLE).toArray().length > 0;
  if (!exists) return 0;
  return sql.exec<{ version: number }>(`SELECT version FROM ${VERSION_TABLE} WHERE id = 1`).toArray()[0]?.version ?? 0;
}

/**
 * Runs every step the storage has not had yet, in order, each in its own transaction with its new
 * version number. Returns the storage's version afterwards. Calling it again is a no-op.
 */
export function upgradeObjectStorage(storage: DurableObjectStorage, steps: readonly StorageStep[]): number {
  const sql = storage.sql;
  let version = storageVersion(sql);
  while (version < steps.length) {
    const step = steps[version]!;
    const next = version + 1;
    storage.transactionSync(() => {
      step(sql);
      sql.exec(`CREATE TABLE IF NOT EXISTS ${VERSION_TABLE} (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL)`);
      sql.exec(
        `INSERT INTO ${VERSION_TABLE} (id, version) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET version = excluded.version`,
        next,
      );
    });
    version = next;
  }
  return version;
}
