import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { applyMigrations, checkConstraints, describeSchema, dumpDatabase } from "./support/schema";

// schema.sql is the readable, complete current schema; migrations/ is what databases actually run.
// Built from empty, the two must give the same tables, columns, constraints and indexes.

describe("schema.sql and migrations/ describe the same schema", () => {
  it("every migration applied to an empty database gives exactly schema.sql", async () => {
    for (const sql of env.SCHEMA_SQL) await env.SCHEMA_SQL_DB.prepare(sql).run();
    await applyMigrations(env.MIGRATED_DB, env.TEST_MIGRATIONS);

    const fromSchema = await describeSchema(env.SCHEMA_SQL_DB);
    const fromMigrations = await describeSchema(env.MIGRATED_DB);
    // Not vacuous: the tables keygate reads and writes are there, with their indexes.
    expect(Object.keys(fromSchema)).toEqual([
      "admin_passkeys",
      "admin_recovery_codes",
      "admin_sessions",
      "admin_totp",
      "admins",
      "api_keys",
      "audit_events",
      "auth_challenges",
      "key_last_used",
      "oauth_clients",
      "oauth_codes",
      "oauth_grants",
      "oauth_tokens",
      "quota_fanouts",
      "settings",
      "tenant_fanouts",
      "tenant_usage_hourly",
      "tenants",
    ]);
    expect(fromSchema.api_keys!.indexes.length).toBeGreaterThanOrEqual(3);
    expect(fromMigrations).toEqual(fromSchema);
  });

  it("the comparison sees a difference in a column, an index or a CHECK", async () => {
    // The drift test is only worth something if a migration that forgot schema.sql (or the other
    // way round) fails it: one change of each kind, on top of the migrated database.
    await applyMigrations(env.MIGRATED_DB, env.TEST_MIGRATIONS);
    const before = await describeSchema(env.MIGRATED_DB);
    await env.MIGRATED_DB.batch([
      env.MIGRATED_DB.prepare("ALTER TABLE tenants ADD COLUMN plan TEXT NOT NULL DEFAULT 'free' CHECK (plan IN ('free', 'paid'))"),
      env.MIGRATED_DB.prepare("CREATE INDEX tenants_name ON tenants (name)"),
    ]);
    const after = (await describeSchema(env.MIGRATED_DB)).tenants!;
    expect(after.columns).toHaveLength(before.tenants!.columns.length + 1);
    expect(after.indexes).toHaveLength(before.tenants!.indexes.length + 1);
    expect(after.checks).toEqual([...before.tenants!.checks, "plan IN ('free', 'paid')"].sort());
  });

  it("the migrations runner records every migration once, and applying them again changes nothing", async () => {
    // env.DB got every migration from test/apply-migrations.ts, the way wrangler applies them.
    const applied = await env.DB.prepare("SELECT name FROM d1_migrations ORDER BY id").all<{ name: string }>();
    expect(applied.results.map((r) => r.name)).toEqual(env.TEST_MIGRATIONS.map((m) => m.name));
    expect(applied.results[0]!.name).toBe("0001_initial.sql");

    const before = await dumpDatabase(env.DB);
    await applyMigrations(env.DB, env.TEST_MIGRATIONS);
    await applyMigrations(env.DB, env.TEST_MIGRATIONS);
    expect(await dumpDatabase(env.DB)).toEqual(before);
  });
});

describe("checkConstraints", () => {
  it("reads nested parentheses and ignores comments and spacing", () => {
    const sql = `CREATE TABLE t (
      a TEXT CHECK (a IN ('x', 'y')), -- CHECK (not this)
      b INTEGER CHECK ((b > 0) AND (b < 10)))`;
    expect(checkConstraints(sql)).toEqual(["(b > 0) AND (b < 10)", "a IN ('x', 'y')"]);
  });
});
