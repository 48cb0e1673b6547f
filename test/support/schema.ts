import { applyD1Migrations } from "cloudflare:test";

/**
 * What a D1 database's schema is made of, read back from SQLite itself: every table with its
 * columns, CHECK constraints, foreign keys and indexes. Two databases with equal descriptions hold
 * the same schema however each got there (CREATE TABLE or later ALTER TABLE), which is what lets
 * the drift test compare migrations/ with schema.sql. The bookkeeping tables of D1, SQLite and the
 * migrations runner are no part of keygate's schema.
 */
export interface SchemaDescription {
  [table: string]: {
    columns: unknown[];
    checks: string[];
    foreignKeys: unknown[];
    indexes: unknown[];
  };
}

const OWN_TABLES = "type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name <> 'd1_migrations'";

async function rows<T = Record<string, unknown>>(db: D1Database, sql: string, ...params: unknown[]): Promise<T[]> {
  return (await db.prepare(sql).bind(...params).all<T>()).results;
}

export async function describeSchema(db: D1Database): Promise<SchemaDescription> {
  const tables = await rows<{ name: string; sql: string }>(db, `SELECT name, sql FROM sqlite_master WHERE ${OWN_TABLES} ORDER BY name`);
  const schema: SchemaDescription = {};
  for (const { name, sql } of tables) {
    const columns = await rows(db, "SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info(?) ORDER BY cid", name);
    const foreignKeys = await rows(
      db,
      "SELECT \"table\", \"from\", \"to\", on_update, on_delete FROM pragma_foreign_key_list(?) ORDER BY \"from\", \"table\"",
      name,
    );
    const indexList = await rows<{ name: string; unique: number; origin: string; partial: number }>(
      db,
      "SELECT name, \"unique\", origin, partial FROM pragma_index_list(?) ORDER BY name",
      name,
    );
    const indexes = [];
    for (const index of indexList) {
      const keyColumns = await rows(db, "SELECT name, \"desc\", coll FROM pragma_index_xinfo(?) WHERE key = 1 ORDER BY seqno", index.name);
      // SQLite names the indexes behind UNIQUE/PRIMARY KEY constraints itself (sqlite_autoindex_…);
      // only their columns mean anything.
      const indexName = index.origin === "c" ? index.name : `(${index.origin})`;
      indexes.push({ name: indexName, unique: index.unique, partial: index.partial, columns: keyColumns });
    }
    indexes.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    schema[name] = { columns, checks: checkConstraints(sql), foreignKeys, indexes };
  }
  return schema;
}

/**
 * The CHECK constraints in a table's CREATE statement, whitespace-normalised and sorted: SQLite
 * keeps them only as text, and an ALTER TABLE … ADD COLUMN appends its column's text to it.
 */
export function checkConstraints(createSql: string): string[] {
  const sql = createSql.replace(/--[^\n]*/g, " ");
  const checks: string[] = [];
  const pattern = /\bCHECK\s*\(/gi;
  for (let match = pattern.exec(sql); match; match = pattern.exec(sql)) {
    let depth = 1;
    let i = match.index + match[0].length;
    for (; i < sql.length && depth > 0; i++) {
      if (sql[i] === "(") depth++;
      else if (sql[i] === ")") depth--;
    }
    checks.push(sql.slice(match.index + match[0].length, i - 1).replace(/\s+/g, " ").replace(/\(\s/g, "(").replace(/\s\)/g, ")").trim());
  }
  return checks.sort();
}

/** Every object in the database, rows included, in a stable order: to prove something changed nothing. */
export async function dumpDatabase(db: D1Database): Promise<Record<string, unknown>> {
  const dump: Record<string, unknown> = {
    sqlite_master: await rows(db, "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE '_cf_%' ORDER BY type, name"),
  };
  const tables = await rows<{ name: string }>(db, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '_cf_%' AND name NOT LIKE 'sqlite_%' ORDER BY name");
  for (const { name } of tables) dump[name] = await rows(db, `SELECT * FROM "${name}" ORDER BY rowid`);
  return dump;
}

/** Removes every table keygate or the migrations runner made: the database as it was before any migration. */
export async function emptyDatabase(db: D1Database): Promise<void> {
  const tables = await rows<{ name: string }>(db, `SELECT name FROM sqlite_master WHERE ${OWN_TABLES}`);
  // One transaction; foreign keys are checked at its end, when the tables that hold them are gone too.
  await db.batch([
    db.prepare("PRAGMA defer_foreign_keys = ON"),
    ...[...tables, { name: "d1_migrations" }].map(({ name }) => db.prepare(`DROP TABLE IF EXISTS "${name}"`)),
  ]);
}

/** Applies the first `count` migrations, as a database that last ran an older release has them. */
export function applyMigrations(db: D1Database, migrations: readonly import("cloudflare:test").D1Migration[], count = migrations.length) {
  return applyD1Migrations(db, migrations.slice(0, count));
}

/**
 * The database as an older release would have stored the same data: every row of every table the
 * first `count` migrations make, in the columns those tables have there; what later migrations
 * added (tables, columns) is gone, and only those migrations are recorded. The upgrade tests fill
 * a database through today's admin API, then turn it into this.
 */
export async function databaseAsOfMigration(db: D1Database, migrations: readonly import("cloudflare:test").D1Migration[], count: number): Promise<void> {
  const tables = await rows<{ name: string }>(db, `SELECT name FROM sqlite_master WHERE ${OWN_TABLES}`);
  const data = new Map<string, Record<string, unknown>[]>();
  for (const { name } of tables) data.set(name, await rows(db, `SELECT * FROM "${name}" ORDER BY rowid`));
  await emptyDatabase(db);
  await applyMigrations(db, migrations, count);
  const statements: D1PreparedStatement[] = [db.prepare("PRAGMA defer_foreign_keys = ON")];
  for (const { name } of await rows<{ name: string }>(db, `SELECT name FROM sqlite_master WHERE ${OWN_TABLES}`)) {
    const columns = (await rows<{ name: string }>(db, "SELECT name FROM pragma_table_info(?) ORDER BY cid", name)).map((c) => c.name);
    for (const row of data.get(name) ?? []) {
      statements.push(
        db.prepare(`INSERT INTO "${name}" (${columns.map((c) => `"${c}"`).join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`).bind(...columns.map((c) => row[c] ?? null)),
      );
    }
  }
  await db.batch(statements);
}
