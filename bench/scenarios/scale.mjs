// Scenario 8: the cold lookup (a key never seen before: isolate cache and KV miss, D1 answers)
// with 1,000 keys in D1, then again after seeding up to 1,000,000.
import http from "node:http";
import { createTenant } from "../lib/admin.mjs";
import { displayForm, generateKey, hashKey, prefixedId } from "../lib/keys.mjs";
import { percentile, round } from "../lib/load.mjs";

const COLUMNS =
  "id, tenant_id, key_hash, display, name, description, environment, scopes, rate_limit, rate_window_seconds, expires_at, created_at, updated_at, revoked_at, deleted_at, rotated_from, rotated_to";
// D1 caps a statement at 100 KB; a row literal is about 250 bytes.
const ROWS_PER_STATEMENT = 350;
// One batch is one transaction; a few statements each keeps the proxy round trips few.
const STATEMENTS_PER_BATCH = 10;

async function statement(db, tenantId, count, createdAt, keep) {
  const keys = Array.from({ length: count }, () => generateKey("kg", "live"));
  const hashes = await Promise.all(keys.map(hashKey));
  const values = keys.map((key, i) => {
    const at = createdAt + i;
    return `('${prefixedId("key")}','${tenantId}','${hashes[i]}','${displayForm(key, "kg")}',NULL,NULL,'live','["read","write"]',60,60,NULL,${at},${at},NULL,NULL,NULL,NULL)`;
  });
  keep.push(...keys.slice(0, Math.max(0, keep.wanted - keep.length)));
  return db.prepare(`INSERT INTO api_keys (${COLUMNS}) VALUES ${values.join(",")}`);
}

/** Inserts `count` real keys' rows; generating the next batch overlaps inserting the last. */
async function seed(db, tenantId, count, wanted) {
  const keep = Object.assign([], { wanted });
  const started = performance.now();
  const firstCreatedAt = Date.now() - count; // one ms apart, the newest now
  let inserted = 0;
  let pending = Promise.resolve();
  while (inserted < count) {
    const statements = [];
    for (let s = 0; s < STATEMENTS_PER_BATCH && inserted < count; s++) {
      const rows = Math.min(ROWS_PER_STATEMENT, count - inserted);
      statements.push(await statement(db, tenantId, rows, firstCreatedAt + inserted, keep));
      inserted += rows;
    }
    await pending;
    pending = db.batch(statements);
  }
  await pending;
  return { keys: keep, seconds: (performance.now() - started) / 1000 };
}

function get(url, key, agent) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const request = http.get(url, { agent, headers: { "x-api-key": key, "cf-connecting-ip": "203.0.113.200" } }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode, ms: performance.now() - started }));
    });
    request.on("error", reject);
  });
}

/** One lookup at a time, so the figure is the lookup's latency, not a queue's. */
async function coldLookups(url, found, warmups) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const hits = [];
  const misses = [];
  const statuses = { hit: {}, miss: {} };
  for (let i = 0; i < found.length; i++) {
    const hit = await get(url, found[i], agent);
    const miss = await get(url, generateKey("kg", "live"), agent);
    statuses.hit[hit.status] = (statuses.hit[hit.status] ?? 0) + 1;
    statuses.miss[miss.status] = (statuses.miss[miss.status] ?? 0) + 1;
    if (i >= warmups) {
      hits.push(hit.ms);
      misses.push(miss.ms);
    }
  }
  agent.destroy();
  const summary = (values, status, expected) => {
    const sorted = Float64Array.from(values).sort();
    return {
      lookups: values.length,
      p50: round(percentile(sorted, 50), 3),
      p99: round(percentile(sorted, 99), 3),
      statuses: statuses[status],
      asExpected: (statuses[status][expected] ?? 0) === found.length,
    };
  };
  return { found: summary(hits, "hit", 200), missing: summary(misses, "miss", 401) };
}

export async function scaleScenario({ mf, urls, settings, log }) {
  const { small, big, lookups, warmLookups } = settings.scale;
  const base = urls["keygate-scale"];
  const url = `${base}/__origin/static`;
  const db = await mf.getD1Database("DB", "keygate-scale");
  const tenant = await createTenant(base, "scale");
  const wanted = lookups + warmLookups;

  log(`8. scale: seeding ${small.toLocaleString("en")} keys`);
  const first = await seed(db, tenant.id, small, wanted);
  const atSmall = await coldLookups(url, first.keys, warmLookups);

  log(`8. scale: seeding up to ${big.toLocaleString("en")} keys`);
  const second = await seed(db, tenant.id, big - small, wanted);
  const rows = (await db.prepare("SELECT count(*) AS n FROM api_keys").first()).n;
  const atBig = await coldLookups(url, second.keys, warmLookups);

  return {
    small: { keys: small, ...atSmall },
    big: { keys: rows, ...atBig },
    seeding: { rows: big - small, seconds: round(second.seconds, 1), rowsPerSecond: Math.round((big - small) / second.seconds) },
    foundRatio: round(atBig.found.p50 / atSmall.found.p50, 2),
    missingRatio: round(atBig.missing.p50 / atSmall.missing.p50, 2),
  };
}
