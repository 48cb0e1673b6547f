// Scenario 6: many keys at once, far over their limits. The origin counts what was admitted.
import { createKeys, createTenant } from "../lib/admin.mjs";
import { measureLoad, rotatingKeys } from "../lib/load.mjs";
import { originCounts } from "../lib/origin-process.mjs";

// Long enough that no slot frees during the burst, so exactly `limit` per key may pass.
const WINDOW_SECONDS = 3_600;

export async function exactnessScenario({ urls, settings, log }) {
  const { keys: keyCount, limit, requests, connections } = settings.exactness;
  const tenant = await createTenant(urls.keygate, "exactness");
  log(`6. exactness: ${keyCount} keys x limit ${limit}, ${requests} requests over ${connections} connections`);
  const keys = await createKeys(urls.keygate, tenant.id, keyCount, limit, WINDOW_SECONDS);

  const load = await measureLoad(
    { url: `${urls.keygate}/__origin/static`, connections, requests: rotatingKeys(keys.map((k) => k.key)) },
    { amount: requests },
  );
  const counts = await originCounts(urls.origin);
  const perKey = keys.map((k) => counts[k.id] ?? 0);
  const admittedAtOrigin = perKey.reduce((a, b) => a + b, 0);
  const expected = keyCount * limit;
  return {
    ...load,
    keys: keyCount,
    limit,
    requests,
    expected,
    admittedAtOrigin,
    admittedResponses: load.statuses[200] ?? 0,
    refusedResponses: load.statuses[429] ?? 0,
    keysOver: perKey.filter((n) => n > limit).length,
    keysUnder: perKey.filter((n) => n < limit).length,
    overAdmitted: perKey.reduce((sum, n) => sum + Math.max(0, n - limit), 0),
    underAdmitted: perKey.reduce((sum, n) => sum + Math.max(0, limit - n), 0),
    exact: admittedAtOrigin === expected && perKey.every((n) => n === limit) && (load.statuses[200] ?? 0) === expected && load.responses === requests,
  };
}
