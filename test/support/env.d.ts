// Test-only bindings, set in vitest.config.ts.
declare namespace Cloudflare {
  interface Env {
    /** migrations/*.sql, in order, as readD1Migrations reads them. */
    TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
    /** schema.sql's statements, split as wrangler splits a file. */
    SCHEMA_SQL: string[];
    /** Empty databases for the schema drift test. */
    SCHEMA_SQL_DB: D1Database;
    MIGRATED_DB: D1Database;
  }
}
