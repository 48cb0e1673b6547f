// Scenario 7: a steady stream on a key while an operator revokes it. "After the revoke returned"
// means: the request was created after this process had received the revoke call's response.
// Any such request that gets a 200 is revocation lag.
import http from "node:http";
import { createKey, createTenant, revokeKey } from "../lib/admin.mjs";
import { percentile, round } from "../lib/load.mjs";
import { originCounts } from "../lib/origin-process.mjs";

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function get(url, key, agent) {
  return new Promise((resolve) => {
    const request = http.get(url, { agent, headers: { "x-api-key": key, "cf-connecting-ip": "192.0.2.77" } }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode));
    });
    request.on("error", () => resolve(0));
  });
}

async function trial(urls, tenantId, { lanes, beforeMs, afterMs }) {
  const key = await createKey(urls.keygate, tenantId, 1_000_000, 86_400);
  const agent = new http.Agent({ keepAlive: true, maxSockets: lanes });
  const url = `${urls.keygate}/__origin/static`;
  const sent = [];
  let stop = false;
  const lane = async () => {
    while (!stop) {
      const record = { createdAt: performance.now(), status: 0, doneAt: 0 };
      sent.push(record);
      record.status = await get(url, key.key, agent);
      record.doneAt = performance.now();
    }
  };
  const running = Array.from({ length: lanes }, lane);
  await sleep(beforeMs);
  const revokeStartedAt = performance.now();
  await revokeKey(urls.keygate, key.id);
  const revokeReturnedAt = performance.now();
  await sleep(afterMs);
  stop = true;
  await Promise.all(running);
  agent.destroy();

  const after = sent.filter((r) => r.createdAt > revokeReturnedAt);
  const before = sent.filter((r) => r.createdAt < revokeStartedAt);
  const during = sent.filter((r) => r.createdAt >= revokeStartedAt && r.createdAt <= revokeReturnedAt);
  const admittedAtOrigin = (await originCounts(urls.origin))[key.id] ?? 0;
  return {
    sentBefore: before.length,
    admittedBefore: before.filter((r) => r.status === 200).length,
    sentDuringRevoke: during.length,
    admittedDuringRevoke: during.filter((r) => r.status === 200).length,
    sentAfter: after.length,
    admittedAfter: after.filter((r) => r.status === 200).length,
    refusedAfter: after.filter((r) => r.status === 401).length,
    admittedResponses: sent.filter((r) => r.status === 200).length,
    admittedAtOrigin,
    revokeMs: revokeReturnedAt - revokeStartedAt,
    latencies: sent.filter((r) => r.doneAt > 0).map((r) => r.doneAt - r.createdAt),
  };
}

export async function revocationScenario({ urls, settings, log }) {
  const { trials, lanes, beforeMs, afterMs } = settings.revocation;
  log(`7. revocation lag: ${trials} trials, ${lanes} concurrent streams each`);
  const tenant = await createTenant(urls.keygate, "revocation");
  const results = [];
  for (let i = 0; i < trials; i++) results.push(await trial(urls, tenant.id, { lanes, beforeMs, afterMs }));
  const sum = (field) => results.reduce((total, r) => total + r[field], 0);
  const latencies = Float64Array.from(results.flatMap((r) => r.latencies)).sort();
  const seconds = results.length * (beforeMs + afterMs) / 1000 + sum("revokeMs") / 1000;
  return {
    trials,
    lanes,
    responses: latencies.length,
    rps: Math.round(latencies.length / seconds),
    p50: round(percentile(latencies, 50), 3),
    p99: round(percentile(latencies, 99), 3),
    sentAfter: sum("sentAfter"),
    admittedAfter: sum("admittedAfter"),
    refusedAfter: sum("refusedAfter"),
    sentDuringRevoke: sum("sentDuringRevoke"),
    admittedDuringRevoke: sum("admittedDuringRevoke"),
    admittedBefore: sum("admittedBefore"),
    sentBefore: sum("sentBefore"),
    revokeMsMax: Math.round(Math.max(...results.map((r) => r.revokeMs)) * 100) / 100,
    // Every 200 the client saw reached the origin and nothing else did.
    originAgrees: results.every((r) => r.admittedAtOrigin === r.admittedResponses),
  };
}
