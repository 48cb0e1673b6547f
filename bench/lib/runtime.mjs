// keygate and a pass-through worker side by side in one workerd, through Miniflare's API (not
// `wrangler dev`, whose proxy layer would be what gets measured). Each worker listens on its own
// direct socket, so no routing worker sits in front of either.
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { Miniflare, convertV4MiniflareOptions } from "miniflare";

/** What the benchmark's own workers are told; anything a deployment would set is set. */
export const ADMIN_TOKEN = `bench-admin-${randomBytes(16).toString("hex")}`;
const SIGNING_SECRET = `bench-signing-${randomBytes(16).toString("hex")}`;
/** Raised so the unknown-key scenario measures the negative cache, not the per-IP block. */
export const RAISED_FAILED_AUTH_LIMIT = 1_000_000_000;

// The smallest faithful forwarder: same method, path, query, headers and body.
const PASS_THROUGH = `export default {
  fetch(request, env) {
    const url = new URL(request.url);
    return fetch(env.ORIGIN_URL + url.pathname + url.search, request);
  },
};`;

function wranglerSettings(root) {
  const toml = readFileSync(join(root, "wrangler.toml"), "utf8");
  const date = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(toml)?.[1];
  const flags = /^compatibility_flags\s*=\s*\[([^\]]*)\]/m.exec(toml)?.[1];
  if (!date) throw new Error("wrangler.toml has no compatibility_date");
  return { compatibilityDate: date, compatibilityFlags: flags ? [...flags.matchAll(/"([^"]+)"/g)].map((m) => m[1]) : [] };
}

function keygateWorker(name, script, settings, originUrl, overrides) {
  return {
    name,
    modules: true,
    scriptPath: script,
    modulesRoot: dirname(script),
    ...settings,
    bindings: {
      ORIGIN_URL: originUrl,
      KEY_PREFIX: "kg",
      ORIGIN_TIMEOUT_MS: "30000",
      ROUTE_SCOPES: "[]",
      PUBLIC_PATHS: "",
      RATE_LIMIT_FAIL_OPEN: "false",
      ADMIN_TOKEN,
      ORIGIN_SIGNING_SECRET: SIGNING_SECRET,
      ...overrides,
    },
    // Each keygate gets its own database and cache, so one scenario's rows never sit in another's.
    d1Databases: { DB: `${name}-db` },
    kvNamespaces: { KEYS_CACHE: `${name}-kv` },
    durableObjects: {
      KEY_GUARD: { className: "KeyGuard", useSQLite: true },
      ATTEMPT_GUARD: { className: "AttemptGuard", useSQLite: true },
    },
    unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
  };
}

/**
 * Workers:
 *  - keygate:        the product, failed-auth limit raised (see RAISED_FAILED_AUTH_LIMIT)
 *  - keygate-strict: the product with the default failed-auth limit (the blocked-IP path)
 *  - keygate-scale:  the product over the big seeded table (scenario 8)
 *  - pass:           the pass-through forwarder
 */
export async function startRuntime({ root, script, originUrl, stateDir, onLog, inspect = false }) {
  const settings = wranglerSettings(root);
  const raised = { FAILED_AUTH_LIMIT: String(RAISED_FAILED_AUTH_LIMIT) };
  const options = convertV4MiniflareOptions({
    host: "127.0.0.1",
    port: 0,
    resourcePersistencePath: stateDir,
    // bench/profile.mjs: workerd opens its DevTools inspector on a free port.
    ...(inspect ? { inspectorPort: 0 } : {}),
    handleStructuredLogs: onLog,
    workers: [
      keygateWorker("keygate", script, settings, originUrl, raised),
      keygateWorker("keygate-strict", script, settings, originUrl, {}),
      keygateWorker("keygate-scale", script, settings, originUrl, raised),
      {
        name: "pass",
        modules: true,
        script: PASS_THROUGH,
        ...settings,
        bindings: { ORIGIN_URL: originUrl },
        unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
      },
    ],
  });
  const mf = new Miniflare(options);
  await mf.ready;
  const urls = {};
  for (const name of ["keygate", "keygate-strict", "keygate-scale", "pass"]) {
    urls[name] = (await mf.unsafeGetDirectURL(name)).href.replace(/\/$/, "");
  }
  for (const name of ["keygate", "keygate-strict", "keygate-scale"]) await applyMigrations(await mf.getD1Database("DB", name), root);
  return { mf, urls, settings };
}

/**
 * migrations/*.sql in order, each split into statements by wrangler's own splitter: the schema a
 * deployment gets from `wrangler d1 migrations apply`. Every bench run starts from a fresh state
 * directory, so there is no record of applied migrations to keep.
 */
async function applyMigrations(db, root) {
  const { unstable_splitSqlQuery } = await import("wrangler");
  const dir = join(root, "migrations");
  const files = readdirSync(dir).filter((f) => f.endsWith(".sql")).sort();
  for (const file of files) {
    const statements = unstable_splitSqlQuery(readFileSync(join(dir, file), "utf8"));
    await db.batch(statements.map((sql) => db.prepare(sql)));
  }
}
