import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { unstable_splitSqlQuery } from "wrangler";
import { defineConfig } from "vitest/config";
import { TEST_ADMIN_TOKEN, TEST_JWT_SECRET, TEST_SIGNING_SECRET } from "./test/support/constants";
// @ts-expect-error: plain ESM build script, shared with wrangler's [build]
import { buildAssets } from "./scripts/build-assets.mjs";

// wrangler builds ./static before `dev` and `deploy`; the test runner reads wrangler.toml without
// running [build], so the static assets are built here.
buildAssets();

// Tests run inside workerd with real local D1, KV and Durable Objects. The origin is a real HTTP
// server on loopback, started by test/global-setup.ts; its URL reaches the worker as ORIGIN_URL.
// Every test file starts from empty storage; test/apply-migrations.ts gives its D1 the schema the
// way `wrangler d1 migrations apply` does, from the same files, split by wrangler's own splitter.
const migrations = await readD1Migrations(fileURLToPath(new URL("./migrations", import.meta.url)));
const schemaSql = unstable_splitSqlQuery(readFileSync(new URL("./schema.sql", import.meta.url), "utf8"));

export default defineConfig({
  plugins: [
    cloudflareTest(({ inject }) => ({
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        // Test-only, empty: test/schema-drift.test.ts builds schema.sql into one and the
        // migrations into the other, and compares them.
        d1Databases: { SCHEMA_SQL_DB: "schema-sql-db", MIGRATED_DB: "migrated-db" },
        bindings: {
          TEST_MIGRATIONS: migrations,
          SCHEMA_SQL: schemaSql,
          ORIGIN_URL: inject<string>("originUrl"),
          ORIGIN_URL_TEST: `${inject<string>("originUrl")}/test-env`,
          ADMIN_TOKEN: TEST_ADMIN_TOKEN,
          JWT_SECRET: TEST_JWT_SECRET,
          ORIGIN_SIGNING_SECRET: TEST_SIGNING_SECRET,
          ORIGIN_TIMEOUT_MS: "1500",
          ROUTE_SCOPES: JSON.stringify([
            { method: "*", path: "/servers/*", scope: "servers" },
            { method: "DELETE", path: "/admin-only/**", scope: "admin" },
          ]),
          // What test/plans/ spends credits and quotas with: an image costs 10, a ping nothing.
          ROUTE_COSTS: JSON.stringify([
            { method: "POST", path: "/images/*", cost: 10 },
            { method: "*", path: "/ping/*", cost: 0 },
          ]),
          PUBLIC_PATHS: "/health,/public/*",
          OAUTH_CONSENT_URL: "https://consent.example.com/approve?lang=en",
        },
      },
    })),
  ],
  // `keygate/hono` (in the example app) is the sources here, as tsconfig.json's paths say.
  resolve: { tsconfigPaths: true },
  test: {
    include: ["test/**/*.test.ts"],
    exclude: ["test/e2e/**"],
    globalSetup: ["./test/global-setup.ts"],
    setupFiles: ["./test/apply-migrations.ts"],
    testTimeout: 30_000,
    // Vitest leaves a core free by default, which on a 2-core machine means one file at a time;
    // workerd spends much of each test waiting on its own I/O, so every core runs a file.
    maxWorkers: Math.max(2, availableParallelism()),
  },
});
