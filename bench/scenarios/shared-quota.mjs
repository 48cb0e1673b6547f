// Scenario 13: 100 keys of one tenant spending from one quota. (a) Throughput: a quota far above
// what the pass can spend, taking turns with 100 keys of a tenant without a quota; the quota
// object's calls per admission. (b) Exactness: a quota of Q, 2Q requests over many connections;
// the origin counts what was admitted.
import { createKeys, createTenant } from "../lib/admin.mjs";
import { quotaCallsBetween, readQuotaStats, waitForFlush } from "../lib/guard-stats.mjs";
import { quotaObject } from "../lib/keys.mjs";
import { expect, interleave, measureLoad, rotatingKeys } from "../lib/load.mjs";
import { originCounts } from "../lib/origin-process.mjs";
import { UNREACHABLE } from "../lib/runtime.mjs";

const PATH = "/__origin/static";
/** A month's quota the throughput pass cannot come near. */
const OUT_OF_REACH = 1_000_000_000_000;

const admittedOf = (counts, keys) => keys.reduce((sum, k) => sum + (counts[k.id] ?? 0), 0);

export async function sharedQuotaScenario({ urls, settings, log }) {
  const { keys: keyCount, quota, requests, connections: exactConnections } = settings.sharedQuota;
  const { connections, duration, warmup, rounds } = settings;
  const gate = urls.keygate;

  log(`13a. shared quota: ${keyCount} keys sharing a quota, taking turns with ${keyCount} keys without one`);
  const quoted = await createTenant(gate, "shared-quota", { live: { limit: OUT_OF_REACH, period: "month" } });
  const plain = await createTenant(gate, "no-quota");
  const quotedKeys = await createKeys(gate, quoted.id, keyCount, UNREACHABLE.limit, UNREACHABLE.windowSeconds);
  const plainKeys = await createKeys(gate, plain.id, keyCount, UNREACHABLE.limit, UNREACHABLE.windowSeconds);
  const quotaName = quotaObject(quoted.id, "live");
  const before = await readQuotaStats(urls, quotaName);
  const admittedBefore = admittedOf(await originCounts(urls.origin), quotedKeys);
  const target = (keys) => ({ url: `${gate}${PATH}`, connections, requests: rotatingKeys(keys.map((k) => k.key)), keyCount: keys.length });
  const [withoutQuota, withQuota] = (await interleave([target(plainKeys), target(quotedKeys)], { duration, warmup, rounds })).map((r) => expect(r, 200));
  // The leases the keys still hold are given back once they fall quiet: those calls count too.
  await waitForFlush(settings.flushWaitMs);
  const calls = quotaCallsBetween(before, await readQuotaStats(urls, quotaName));
  const admitted = admittedOf(await originCounts(urls.origin), quotedKeys) - admittedBefore;

  log(`13b. shared quota exactness: ${keyCount} keys, a quota of ${quota}, ${requests} requests over ${exactConnections} connections`);
  const exactTenant = await createTenant(gate, "shared-quota-exact", { live: { limit: quota, period: "month" } });
  const exactKeys = await createKeys(gate, exactTenant.id, keyCount, UNREACHABLE.limit, UNREACHABLE.windowSeconds);
  const burst = await measureLoad({ url: `${gate}${PATH}`, connections: exactConnections, requests: rotatingKeys(exactKeys.map((k) => k.key)) }, { amount: requests });
  const admittedAtOrigin = admittedOf(await originCounts(urls.origin), exactKeys);
  return {
    keys: keyCount,
    throughput: {
      withQuota,
      withoutQuota,
      rpsRatio: withoutQuota.rps ? Math.round((withQuota.rps / withoutQuota.rps) * 100) / 100 : null,
      admitted,
      quotaCalls: calls,
      callsPerAdmission: admitted ? (calls.acquire + calls.release) / admitted : null,
    },
    exactness: {
      ...burst,
      quota,
      requests,
      admittedAtOrigin,
      admittedResponses: burst.statuses[200] ?? 0,
      refusedResponses: burst.statuses[429] ?? 0,
      // The stated bound: about one request's cost (here 1) per key holding a lease at the end.
      bound: keyCount,
      overAdmitted: Math.max(0, admittedAtOrigin - quota),
      underAdmitted: Math.max(0, quota - admittedAtOrigin),
    },
  };
}
