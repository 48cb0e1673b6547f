// keygate, a pass-through worker and two "floor" workers side by side in one workerd, through Miniflare's API (not
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

/**
 * The floor of keygate's design, for comparison: the pass-through plus one RPC per request to a
 * per-key Durable Object (SQLite-backed, addressed by the x-api-key header's value), which
 * answers with a small object. `objectMembers` is the object's class body (its `admit()`); the
 * worker around it is the same for both floors.
 */
const floorScript = (objectMembers) => `import { DurableObject } from "cloudflare:workers";
export class Floor extends DurableObject {
${objectMembers}
}
export default {
  async fetch(request, env) {
    await env.FLOOR.getByName(request.headers.get("x-api-key") ?? "").admit();
    const url = new URL(request.url);
    return fetch(env.ORIGIN_URL + url.pathname + url.search, request);
  },
};`;

/**
 * A limit no pass of the benchmark reaches: scenario 3's keys have it, and floor-row trims with its
 * window, so the floor trims exactly what an exact log for those keys must trim.
 */
export const UNREACHABLE = { limit: 1_000_000, windowSeconds: 86_400 };

// floor-rpc: the call alone, no storage.
const FLOOR_RPC = floorScript(`  admit() {
    return { admitted: true, remaining: 1 };
  }`);

// floor-row ("the floor"): the call appends one row and trims the rows that left the window, the
// least any design with exact windows and next-request revocation writes. No index: a key holds
// a few dozen rows in scenario 3, cheaper to scan than to index on every insert.
const FLOOR_ROW = floorScript(`  constructor(ctx, env) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS log (ts INTEGER NOT NULL)");
  }
  admit() {
    const now = Date.now();
    this.ctx.storage.sql.exec("DELETE FROM log WHERE ts <= ?", now - ${UNREACHABLE.windowSeconds * 1_000});
    this.ctx.storage.sql.exec("INSERT INTO log (ts) VALUES (?)", now);
    return { admitted: true, remaining: 1 };
  }`);

/**
 * floor-hardened: what keygate does around its one call, written plainly, with no framework: the
 * key's SHA-256 names its object; the object trims its window, appends one row carrying the
 * request's usage event and answers the window's count; the worker strips every header a client
 * could forge, signs the caller's identity for the origin (HMAC-SHA256), bounds the origin's wait
 * (AbortSignal.timeout) and adds the rate-limit headers. The bar keygate's features are held to.
 */
const FLOOR_HARDENED = `import { DurableObject } from "cloudflare:workers";
const LIMIT = ${UNREACHABLE.limit};
const WINDOW_MS = ${UNREACHABLE.windowSeconds * 1_000};
export class Floor extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS log (ts INTEGER NOT NULL, event TEXT NOT NULL)");
  }
  admit(event) {
    const now = Date.now();
    const sql = this.ctx.storage.sql;
    sql.exec("DELETE FROM log WHERE ts <= ?", now - WINDOW_MS);
    const used = sql.exec("SELECT count(*) AS n, min(ts) AS oldest FROM log").one();
    if (used.n >= LIMIT) return { admitted: false, remaining: 0, reset: used.oldest + WINDOW_MS };
    sql.exec("INSERT INTO log (ts, event) VALUES (?, ?)", now, JSON.stringify(event));
    return { admitted: true, remaining: LIMIT - used.n - 1, reset: (used.oldest ?? now) + WINDOW_MS };
  }
}
const encoder = new TextEncoder();
const hex = (bytes) => [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");
const FORGEABLE = ["forwarded", "x-real-ip", "true-client-ip", "x-client-ip", "x-original-url", "x-rewrite-url", "x-http-method-override"];
let signingKey;
export default {
  async fetch(request, env) {
    const key = request.headers.get("x-api-key") ?? "";
    const keyId = hex(await crypto.subtle.digest("SHA-256", encoder.encode(key)));
    const url = new URL(request.url);
    const requestId = crypto.randomUUID();
    const verdict = await env.FLOOR.getByName(keyId).admit({
      at: Date.now(), method: request.method, path: url.pathname, ip: request.headers.get("cf-connecting-ip"),
      userAgent: request.headers.get("user-agent"), requestId,
    });
    const limits = {
      "x-ratelimit-limit": String(LIMIT), "x-ratelimit-remaining": String(verdict.remaining), "x-ratelimit-reset": String(Math.ceil(verdict.reset / 1000)),
      "ratelimit-policy": '"default";q=' + LIMIT + ";w=" + WINDOW_MS / 1000, ratelimit: '"default";r=' + verdict.remaining + ";t=" + Math.ceil((verdict.reset - Date.now()) / 1000),
    };
    if (!verdict.admitted) return new Response("rate limited", { status: 429, headers: limits });
    const headers = new Headers();
    for (const [name, value] of request.headers) {
      if (name === "x-api-key" || name.startsWith("x-keygate-") || name.startsWith("x-forwarded-") || FORGEABLE.includes(name)) continue;
      headers.set(name, value);
    }
    const timestamp = String(Math.floor(Date.now() / 1000));
    headers.set("x-keygate-key-id", keyId);
    headers.set("x-keygate-timestamp", timestamp);
    headers.set("x-request-id", requestId);
    headers.set("x-forwarded-for", request.headers.get("cf-connecting-ip") ?? "127.0.0.1");
    signingKey ??= crypto.subtle.importKey("raw", encoder.encode(env.SIGNING_SECRET), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    const signed = ["v1", timestamp, request.method, url.pathname + url.search, keyId, requestId].join("\\n");
    headers.set("x-keygate-signature", "v1=" + hex(await crypto.subtle.sign("HMAC", await signingKey, encoder.encode(signed))));
    const origin = await fetch(env.ORIGIN_URL + url.pathname + url.search, { method: request.method, headers, body: request.body, signal: AbortSignal.timeout(30_000) });
    const response = new Response(origin.body, origin);
    for (const [name, value] of Object.entries(limits)) response.headers.set(name, value);
    return response;
  },
};`;

/**
 * Answers `KeyGuard.storageStats()` for a batch of key ids (a JSON array) in one request, calling
 * the same objects keygate calls, through keygate's own namespace and by key id. One round trip
 * per batch: from Node, Miniflare's proxy takes about 10 ms per call (see bench/lib/guard-stats.mjs).
 * At /quota?name=… it answers a tenant's quota object's \`stats()\` the same way.
 */
const GUARD_STATS = `export default {
  async fetch(request, env) {
    try {
      const quota = new URL(request.url).searchParams.get("name");
      if (quota !== null) return Response.json(await env.QUOTA_GUARD.getByName(quota).stats());
      const ids = await request.json();
      const stats = await Promise.all(ids.map(async (id) => {
        const { rowsWritten, storedRows, alarmsSet } = await env.KEY_GUARD.getByName(id).storageStats();
        return { rowsWritten, storedRows, alarmsSet };
      }));
      return Response.json(stats);
    } catch (error) {
      return Response.json({ error: String(error?.message ?? error) }, { status: 500 });
    }
  },
};`;

function wranglerSettings(root) {
  const toml = readFileSync(join(root, "wrangler.toml"), "utf8");
  const date = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(toml)?.[1];
  const flags = /^compatibility_flags\s*=\s*\[([^\]]*)\]/m.exec(toml)?.[1];
  if (!date) throw new Error("wrangler.toml has no compatibility_date");
  return { compatibilityDate: date, compatibilityFlags: flags ? [...flags.matchAll(/"([^"]+)"/g)].map((m) => m[1]) : [] };
}

/** A worker of the benchmark's own (pass-through or floor) on its own direct socket. */
function plainWorker(name, script, settings, originUrl, extra = {}) {
  return {
    name,
    modules: true,
    script,
    ...settings,
    bindings: { ORIGIN_URL: originUrl },
    unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
    ...extra,
  };
}

const floorObject = { durableObjects: { FLOOR: { className: "Floor", useSQLite: true } } };

/** floor-hardened (FLOOR_HARDENED): the floor's object, and the secret it signs for the origin with. */
function floorHardenedWorker(settings, originUrl) {
  return plainWorker("floor-hardened", FLOOR_HARDENED, settings, originUrl, { ...floorObject, bindings: { ORIGIN_URL: originUrl, SIGNING_SECRET } });
}

/** Each worker's own direct socket, by its name, without a trailing slash. */
async function directUrls(mf, workers) {
  const urls = {};
  for (const { name } of workers) urls[name] = (await mf.unsafeGetDirectURL(name)).href.replace(/\/$/, "");
  return urls;
}

function keygateWorker(name, script, settings, originUrl, overrides) {
  // An older build (bench/compare.mjs) may predate the usage forwarder or the quota object: bind only what it exports.
  const source = readFileSync(script, "utf8");
  const forwarder = /\bUsageForwarder\b/.test(source);
  const quota = /\bQuotaGuard\b/.test(source);
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
      ...(forwarder ? { USAGE_FORWARDER: { className: "UsageForwarder", useSQLite: true } } : {}),
      ...(quota ? { QUOTA_GUARD: { className: "QuotaGuard", useSQLite: true } } : {}),
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
 *  - floor-rpc:      the pass-through plus one RPC to a per-key object (no storage)
 *  - floor-row:      the same, the RPC writing one row and trimming the window ("the floor")
 *  - floor-hardened: floor-row plus keygate's features written plainly (see FLOOR_HARDENED)
 *  - guard-stats:    reads keygate's key objects' storageStats() and quota objects' stats() for the bench (never measured)
 */
export async function startRuntime({ root, script, originUrl, stateDir, onLog, inspect = false }) {
  const settings = wranglerSettings(root);
  const raised = { FAILED_AUTH_LIMIT: String(RAISED_FAILED_AUTH_LIMIT) };
  const keygates = [
    keygateWorker("keygate", script, settings, originUrl, raised),
    keygateWorker("keygate-strict", script, settings, originUrl, {}),
    keygateWorker("keygate-scale", script, settings, originUrl, raised),
  ];
  const workers = [
    ...keygates,
    plainWorker("pass", PASS_THROUGH, settings, originUrl),
    plainWorker("floor-rpc", FLOOR_RPC, settings, originUrl, floorObject),
    plainWorker("floor-row", FLOOR_ROW, settings, originUrl, floorObject),
    floorHardenedWorker(settings, originUrl),
    plainWorker("guard-stats", GUARD_STATS, settings, originUrl, {
      durableObjects: {
        KEY_GUARD: { className: "KeyGuard", scriptName: "keygate", useSQLite: true },
        QUOTA_GUARD: { className: "QuotaGuard", scriptName: "keygate", useSQLite: true },
      },
    }),
  ];
  const options = convertV4MiniflareOptions({
    host: "127.0.0.1",
    port: 0,
    resourcePersistencePath: stateDir,
    // bench/profile.mjs: workerd opens its DevTools inspector on a free port.
    ...(inspect ? { inspectorPort: 0 } : {}),
    handleStructuredLogs: onLog,
    workers,
  });
  const mf = new Miniflare(options);
  await mf.ready;
  const urls = await directUrls(mf, workers);
  for (const { name } of keygates) await applyMigrations(await mf.getD1Database("DB", name), root);
  return { mf, urls, settings };
}

/**
 * For bench/compare.mjs: the pass-through, the floor (floor-row) and one keygate per build
 * (`{ name, script, root }`, root being the checkout whose migrations its database gets), in one
 * workerd, so their turns share the same conditions.
 */
export async function startComparison({ root, builds, originUrl, stateDir }) {
  const settings = wranglerSettings(root);
  const raised = { FAILED_AUTH_LIMIT: String(RAISED_FAILED_AUTH_LIMIT) };
  const workers = [
    plainWorker("pass", PASS_THROUGH, settings, originUrl),
    plainWorker("floor-row", FLOOR_ROW, settings, originUrl, floorObject),
    floorHardenedWorker(settings, originUrl),
    ...builds.map((build) => keygateWorker(build.name, build.script, settings, originUrl, raised)),
  ];
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      host: "127.0.0.1",
      port: 0,
      resourcePersistencePath: stateDir,
      handleStructuredLogs: () => {},
      workers,
    }),
  );
  await mf.ready;
  const urls = await directUrls(mf, workers);
  for (const build of builds) await applyMigrations(await mf.getD1Database("DB", build.name), build.root);
  return { mf, urls };
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
