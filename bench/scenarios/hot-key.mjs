// Scenario 10: one key under all the load, its limit out of reach, so one Durable Object serves
// every request. Compared with scenario 3 (the same load spread over many keys' objects).
import { createKey, createTenant } from "../lib/admin.mjs";
import { rowsPerRequest, rowsWrittenDuring } from "../lib/guard-stats.mjs";
import { expect, measureLoad } from "../lib/load.mjs";
import { originCounts } from "../lib/origin-process.mjs";

/** The admin API's largest limit, per day: out of reach however fast the machine. */
const HOT_KEY_LIMIT = { limit: 10_000_000, windowSeconds: 86_400 };

export async function hotKeyScenario({ urls, settings, log }) {
  const { connections, duration, warmup } = settings;
  const tenant = await createTenant(urls.keygate, "hot-key");
  const key = await createKey(urls.keygate, tenant.id, HOT_KEY_LIMIT.limit, HOT_KEY_LIMIT.windowSeconds);
  log(`10. hot key: one key, ${connections} connections, ${duration} s`);
  let load;
  const written = await rowsWrittenDuring(
    urls,
    [key.id],
    async () => {
      load = await measureLoad({ url: `${urls.keygate}/__origin/static`, connections, headers: { "x-api-key": key.key } }, { duration, warmup });
    },
    settings.flushWaitMs,
  );
  // Warm-up included on both sides: the rows span it, and so does the origin's count.
  const admitted = (await originCounts(urls.origin))[key.id] ?? 0;
  return {
    ...expect(load, 200),
    rowsWritten: rowsPerRequest(written, admitted),
  };
}
