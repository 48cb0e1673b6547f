// Scenario 11: keys used about once a second each (quiet keys): rows written per admission, where
// every decision is written soon after its reply. Scenario 12: a key whose object starts cold (its
// first request after local workerd evicted the idle object), keygate against the hardened floor.
import { createKeys, createTenant } from "../lib/admin.mjs";
import { rowsPerRequest, rowsWrittenDuring } from "../lib/guard-stats.mjs";
import { percentile, round, workerdCpuSeconds } from "../lib/load.mjs";
import { originCounts } from "../lib/origin-process.mjs";
import { UNREACHABLE } from "../lib/runtime.mjs";

const PATH = "/__origin/static";
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

async function get(url, key) {
  const started = performance.now();
  const res = await fetch(url, { headers: { "x-api-key": key } });
  await res.arrayBuffer();
  return { status: res.status, ms: performance.now() - started };
}

export async function quietKeysScenario({ urls, settings, log }) {
  const { keys: count, seconds } = settings.quiet;
  const tenant = await createTenant(urls.keygate, "quiet");
  const keys = await createKeys(urls.keygate, tenant.id, count, UNREACHABLE.limit, UNREACHABLE.windowSeconds);
  log(`11. quiet keys: ${count} keys, each about once a second for ${seconds} s`);
  const ids = keys.map((k) => k.id);
  const admittedSoFar = async () => {
    const counts = await originCounts(urls.origin);
    return ids.reduce((sum, id) => sum + (counts[id] ?? 0), 0);
  };
  const before = await admittedSoFar();
  const statuses = {};
  const written = await rowsWrittenDuring(
    urls,
    ids,
    async () => {
      const tick = 1_000 / count;
      const started = Date.now();
      for (let i = 0; Date.now() - started < seconds * 1_000; i++) {
        const { status } = await get(`${urls.keygate}${PATH}`, keys[i % count].key);
        statuses[status] = (statuses[status] ?? 0) + 1;
        await sleep(started + (i + 1) * tick - Date.now());
      }
    },
    settings.flushWaitMs,
  );
  const admitted = (await admittedSoFar()) - before;
  return { keys: count, seconds, statuses, asExpected: Object.keys(statuses).every((s) => s === "200"), rowsWritten: rowsPerRequest(written, admitted) };
}

/** Latency and workerd CPU of one request per key, one at a time. */
async function oneEach(url, keys) {
  const latencies = [];
  const statuses = {};
  const cpuBefore = workerdCpuSeconds();
  for (const key of keys) {
    const { status, ms } = await get(url, key);
    latencies.push(ms);
    statuses[status] = (statuses[status] ?? 0) + 1;
  }
  const cpuAfter = workerdCpuSeconds();
  const sorted = latencies.sort((a, b) => a - b);
  return {
    requests: keys.length,
    p50: round(percentile(sorted, 50), 3),
    p99: round(percentile(sorted, 99), 3),
    workerdCpuMs: cpuBefore === null || cpuAfter === null ? null : round(((cpuAfter - cpuBefore) * 1_000) / keys.length, 3),
    statuses,
    asExpected: statuses[200] === keys.length,
  };
}

export async function coldStartScenario({ urls, settings, log }) {
  const { keys: count, idleMs } = settings.cold;
  const tenant = await createTenant(urls.keygate, "cold");
  const keys = (await createKeys(urls.keygate, tenant.id, count, UNREACHABLE.limit, UNREACHABLE.windowSeconds)).map((k) => k.key);
  const gate = `${urls.keygate}${PATH}`;
  const floor = `${urls["floor-hardened"]}${PATH}`;
  log(`12. cold objects: ${count} keys used once on keygate and the hardened floor, idle ${idleMs / 1_000} s, then once more each`);
  // Every object exists, with storage, and the isolates know the keys; then local workerd evicts
  // the objects, idle past its 10 s.
  await oneEach(gate, keys);
  await oneEach(floor, keys);
  await sleep(idleMs);
  const half = Math.ceil(count / 2);
  // Taking turns by halves, so neither side always goes first after the idle spell.
  const keygateCold = await oneEach(gate, keys.slice(0, half));
  const floorCold = await oneEach(floor, keys.slice(0, half));
  const floorCold2 = await oneEach(floor, keys.slice(half));
  const keygateCold2 = await oneEach(gate, keys.slice(half));
  const merge = (a, b) => ({
    requests: a.requests + b.requests,
    p50: round((a.p50 + b.p50) / 2, 3),
    p99: Math.max(a.p99, b.p99),
    workerdCpuMs: a.workerdCpuMs === null || b.workerdCpuMs === null ? null : round((a.workerdCpuMs + b.workerdCpuMs) / 2, 3),
    asExpected: a.asExpected && b.asExpected,
    statuses: { ...a.statuses, 200: (a.statuses[200] ?? 0) + (b.statuses[200] ?? 0) },
  });
  // The same keys once more, objects now running: what a warm request costs on each.
  const keygateWarm = await oneEach(gate, keys);
  const floorWarm = await oneEach(floor, keys);
  return { keys: count, idleMs, keygate: merge(keygateCold, keygateCold2), floor: merge(floorCold, floorCold2), keygateWarm, floorWarm };
}
