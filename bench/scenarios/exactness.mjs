// Scenarios 6 and 9: keys far over their limits under concurrency. The origin counts what was
// admitted; the keys' objects say how many rows they keep for their windows.
import { createKeys, createTenant } from "../lib/admin.mjs";
import { readStorageStats, waitForFlush } from "../lib/guard-stats.mjs";
import { measureLoad, rotatingKeys } from "../lib/load.mjs";
import { originCounts } from "../lib/origin-process.mjs";

// Long enough that no slot frees during the burst, so exactly `limit` per key may pass.
const WINDOW_SECONDS = 3_600;

/** `requests` spread round-robin over `keys` keys of limit `limit`, on `connections` connections. */
async function measureExactness({ urls, settings }, tenantName, { keys: keyCount, limit, requests, connections }) {
  const tenant = await createTenant(urls.keygate, tenantName);
  const keys = await createKeys(urls.keygate, tenant.id, keyCount, limit, WINDOW_SECONDS);

  const load = await measureLoad(
    { url: `${urls.keygate}/__origin/static`, connections, requests: rotatingKeys(keys.map((k) => k.key)) },
    { amount: requests },
  );
  const counts = await originCounts(urls.origin);
  const perKey = keys.map((k) => counts[k.id] ?? 0);
  const admittedAtOrigin = perKey.reduce((a, b) => a + b, 0);
  const expected = keyCount * limit;
  // What the windows hold once the objects have written what the burst left them to write.
  await waitForFlush(settings.flushWaitMs);
  const stats = await readStorageStats(urls, keys.map((k) => k.id));
  return {
    ...load,
    keys: keyCount,
    limit,
    requests,
    windowSeconds: WINDOW_SECONDS,
    expected,
    admittedAtOrigin,
    admittedResponses: load.statuses[200] ?? 0,
    refusedResponses: load.statuses[429] ?? 0,
    keysOver: perKey.filter((n) => n > limit).length,
    keysUnder: perKey.filter((n) => n < limit).length,
    overAdmitted: perKey.reduce((sum, n) => sum + Math.max(0, n - limit), 0),
    underAdmitted: perKey.reduce((sum, n) => sum + Math.max(0, limit - n), 0),
    exact: admittedAtOrigin === expected && perKey.every((n) => n === limit) && (load.statuses[200] ?? 0) === expected && load.responses === requests,
    // Rows all the keys' objects store for their windows; null if they cannot say.
    storedRows: stats ? [...stats.values()].reduce((sum, s) => sum + s.storedRows, 0) : null,
  };
}

/** Scenario 6: many keys with small limits (the exact per-request log). */
export async function exactnessScenario(context) {
  const { keys, limit, requests, connections } = context.settings.exactness;
  context.log(`6. exactness: ${keys} keys x limit ${limit}, ${requests} requests over ${connections} connections`);
  return measureExactness(context, "exactness", context.settings.exactness);
}

/** Scenario 9: one key with a limit above 4,000, so its window is counted in time buckets. */
export async function largeLimitScenario(context) {
  const { limit, requests, connections } = context.settings.largeLimit;
  context.log(`9. large-limit exactness: 1 key x limit ${limit}, ${requests} requests over ${connections} connections`);
  return measureExactness(context, "large-limit", { keys: 1, limit, requests, connections });
}
