// Scenarios 1-5: the same small GET through each path, at fixed connections. Scenario 3 measures
// keygate taking turns with the pass-through and the two floor workers (bench/lib/runtime.mjs).
import { createKey, createKeys, createTenant } from "../lib/admin.mjs";
import { rowsPerRequest, rowsWrittenDuring, waitForFlush } from "../lib/guard-stats.mjs";
import { generateKey } from "../lib/keys.mjs";
import { expect, interleave, Load, measureLoad, rotatingKeys } from "../lib/load.mjs";
import { originCounts } from "../lib/origin-process.mjs";
import { UNREACHABLE } from "../lib/runtime.mjs";

const PATH = "/__origin/static";

/** Sends unknown keys from `ip` until keygate starts refusing the IP itself (429). */
async function failUntilBlocked(url, keys, ip) {
  for (let i = 0; i < 1_000; i++) {
    const res = await fetch(url, { headers: { "x-api-key": keys[i % keys.length], "cf-connecting-ip": ip } });
    await res.arrayBuffer();
    if (res.status === 429) return;
  }
  throw new Error("keygate-strict never blocked the probing IP");
}

export async function throughputScenarios({ urls, settings, log }) {
  const { connections, duration, warmup, rounds, validKeys, unknownKeys } = settings;
  const gate = urls.keygate;
  const tenant = await createTenant(gate, "bench");

  log(`creating ${validKeys} keys through the admin API`);
  const started = performance.now();
  const keys = await createKeys(gate, tenant.id, validKeys, UNREACHABLE.limit, UNREACHABLE.windowSeconds);
  const keyCreationSeconds = (performance.now() - started) / 1000;
  // Each target its own rotation over the same keys, so the floors address as many objects as keygate.
  // keyCount: each turn's warm-up sends every key once, so every key's object is running.
  const validKeyRequests = () => ({ requests: rotatingKeys(keys.map((k) => k.key)), keyCount: keys.length });

  const out = {};
  log("1. origin direct");
  out.origin = expect(await measureLoad({ url: `${urls.origin}${PATH}`, connections }, { duration, warmup }), 200);

  const turns = (c) => [
    { url: `${urls.pass}${PATH}`, connections: c },
    { url: `${urls["floor-rpc"]}${PATH}`, connections: c, ...validKeyRequests() },
    { url: `${urls["floor-row"]}${PATH}`, connections: c, ...validKeyRequests() },
    { url: `${urls["floor-hardened"]}${PATH}`, connections: c, ...validKeyRequests() },
    { url: `${gate}${PATH}`, connections: c, ...validKeyRequests() },
  ];
  log("2+3. pass-through, floor-rpc, floor-row, floor-hardened and keygate (valid keys), taking turns");
  [out.passThrough, out.floorRpc, out.floorRow, out.floorHardened, out.valid] = (await interleave(turns(connections), { duration, warmup, rounds })).map((r) =>
    expect(r, 200),
  );
  log("2+3 at one connection");
  [out.passThrough1, out.floorRpc1, out.floorRow1, out.floorHardened1, out.valid1] = (await interleave(turns(1), { duration, warmup, rounds })).map((r) =>
    expect(r, 200),
  );

  // Rows written per admitted request: one more pass of keygate alone on the same keys, right after
  // its last turn, between two readings. Not across the turns: workerd evicts an object idle for
  // about 10 s (its count then starts again from zero), and keygate's objects sit idle through the
  // other workers' turns. The origin counts what was admitted over the same span.
  log("3. rows written: keygate alone on the same keys, one more pass");
  const keyIds = keys.map((k) => k.id);
  const admittedSoFar = async () => {
    const counts = await originCounts(urls.origin);
    return keyIds.reduce((sum, id) => sum + (counts[id] ?? 0), 0);
  };
  const rowsPass = new Load({ url: `${gate}${PATH}`, connections, ...validKeyRequests() });
  // The previous pass's last requests, still in flight when its load stopped, reach the origin
  // after it returned: wait for them, or the origin counts them in this pass.
  await waitForFlush(settings.flushWaitMs);
  const admittedBefore = await admittedSoFar();
  const validRows = await rowsWrittenDuring(urls, keyIds, () => rowsPass.measure({ duration: duration / rounds }), settings.flushWaitMs);
  out.validRowsWritten = { ...rowsPerRequest(validRows, (await admittedSoFar()) - admittedBefore), pass: expect(rowsPass.summary(), 200) };

  // Each rejection path takes turns with the pass-through, and its ratio is against that pairing's
  // pass-through: the target compares two paths, so both are measured under the same conditions.
  const withPassThrough = async (target, status) => {
    const [pass, rejection] = await interleave([{ url: `${urls.pass}${PATH}`, connections }, target], { duration, warmup, rounds });
    return { ...expect(rejection, status), passThrough: expect(pass, 200) };
  };

  log("4. one key at its limit (429): rows written, then taking turns with the pass-through");
  const limited = await createKey(gate, tenant.id, 1, 86_400);
  await fetch(`${gate}${PATH}`, { headers: { "x-api-key": limited.key } }).then((r) => r.arrayBuffer());
  const atLimit = { url: `${gate}${PATH}`, connections, headers: { "x-api-key": limited.key } };
  const rowsAtLimit = new Load(atLimit);
  await rowsAtLimit.warm(warmup);
  const refusalRows = await rowsWrittenDuring(urls, [limited.id], () => rowsAtLimit.measure({ duration: duration / rounds }), settings.flushWaitMs);
  out.rateLimitedRowsWritten = { ...rowsPerRequest(refusalRows, rowsAtLimit.summary().responses), pass: expect(rowsAtLimit.summary(), 429) };
  out.rateLimited = await withPassThrough(atLimit, 429);

  log("5a. malformed keys, taking turns with the pass-through");
  const good = generateKey("kg", "live");
  const malformed = `${good.slice(0, -6)}${good.slice(-6) === "000000" ? "000001" : "000000"}`; // right shape, wrong checksum
  out.malformed = await withPassThrough({ url: `${gate}${PATH}`, connections, headers: { "x-api-key": malformed } }, 401);

  log("5b. well-formed unknown keys (negative cache; failed-auth limit raised), taking turns with the pass-through");
  const unknown = Array.from({ length: unknownKeys }, () => generateKey("kg", "live"));
  // A distributed prober: many client IPs, so the per-IP failure counters work in parallel.
  const probers = Array.from({ length: 250 }, (_, i) => `198.51.100.${i + 1}`);
  out.unknown = await withPassThrough({ url: `${gate}${PATH}`, connections, requests: rotatingKeys(unknown, probers) }, 401);

  log("5c. unknown keys from a blocked IP (default failed-auth limit), taking turns with the pass-through");
  const strict = `${urls["keygate-strict"]}${PATH}`;
  const blocked = "203.0.113.66";
  await failUntilBlocked(strict, unknown, blocked);
  out.blockedIp = await withPassThrough({ url: strict, connections, requests: rotatingKeys(unknown, [blocked]) }, 429);

  return { results: out, keyCreation: { keys: validKeys, seconds: Math.round(keyCreationSeconds * 100) / 100 } };
}
