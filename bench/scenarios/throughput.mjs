// Scenarios 1-5: the same small GET through each path, at fixed connections.
import { createKey, createKeys, createTenant } from "../lib/admin.mjs";
import { generateKey } from "../lib/keys.mjs";
import { interleave, measureLoad, rotatingKeys } from "../lib/load.mjs";

const PATH = "/__origin/static";
/** Limits no scenario-3 run can reach. */
const UNREACHABLE = { limit: 1_000_000, windowSeconds: 86_400 };

/** What fraction of responses had the status the scenario is about. */
function expect(result, status) {
  const matching = result.statuses[status] ?? 0;
  return { ...result, expectedStatus: status, asExpected: matching === result.responses && result.errors === 0 };
}

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
  const valid = { requests: rotatingKeys(keys.map((k) => k.key)) };

  const out = {};
  log("1. origin direct");
  out.origin = expect(await measureLoad({ url: `${urls.origin}${PATH}`, connections }, { duration, warmup }), 200);

  log("2+3. pass-through and keygate (valid keys), taking turns");
  const pair = (c) => [
    { url: `${urls.pass}${PATH}`, connections: c },
    { url: `${gate}${PATH}`, connections: c, ...valid },
  ];
  const [pass, valid10] = await interleave(pair(connections), { duration, warmup, rounds });
  out.passThrough = expect(pass, 200);
  out.valid = expect(valid10, 200);
  log("2+3 at one connection");
  const [pass1, valid1] = await interleave(pair(1), { duration, warmup, rounds });
  out.passThrough1 = expect(pass1, 200);
  out.valid1 = expect(valid1, 200);

  log("4. one key at its limit (429)");
  const limited = await createKey(gate, tenant.id, 1, 86_400);
  await fetch(`${gate}${PATH}`, { headers: { "x-api-key": limited.key } }).then((r) => r.arrayBuffer());
  out.rateLimited = expect(await measureLoad({ url: `${gate}${PATH}`, connections, headers: { "x-api-key": limited.key } }, { duration, warmup }), 429);

  log("5a. malformed keys");
  const good = generateKey("kg", "live");
  const malformed = `${good.slice(0, -6)}${good.slice(-6) === "000000" ? "000001" : "000000"}`; // right shape, wrong checksum
  out.malformed = expect(await measureLoad({ url: `${gate}${PATH}`, connections, headers: { "x-api-key": malformed } }, { duration, warmup }), 401);

  log("5b. well-formed unknown keys (negative cache; failed-auth limit raised)");
  const unknown = Array.from({ length: unknownKeys }, () => generateKey("kg", "live"));
  // A distributed prober: many client IPs, so the per-IP failure counters work in parallel.
  const probers = Array.from({ length: 250 }, (_, i) => `198.51.100.${i + 1}`);
  out.unknown = expect(await measureLoad({ url: `${gate}${PATH}`, connections, requests: rotatingKeys(unknown, probers) }, { duration, warmup }), 401);

  log("5c. unknown keys from a blocked IP (default failed-auth limit)");
  const strict = `${urls["keygate-strict"]}${PATH}`;
  const blocked = "203.0.113.66";
  await failUntilBlocked(strict, unknown, blocked);
  out.blockedIp = expect(await measureLoad({ url: strict, connections, requests: rotatingKeys(unknown, [blocked]) }, { duration, warmup }), 429);

  return { results: out, keyCreation: { keys: validKeys, seconds: Math.round(keyCreationSeconds * 100) / 100 } };
}
