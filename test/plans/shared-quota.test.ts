import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { quotaObject } from "../../src/authority/key";
import { errorOf, gateway, originCounts, withKey } from "../support/client";
import { getTenantBody, planKey, tenantWithQuotas, type PlanKeyBody } from "./support";

// The proof of the shared quota: 100 keys of one tenant, a quota of 10,000 units, 20,000
// requests spread over the keys and sent over many concurrent connections. What reaches the origin
// never exceeds the quota, and falls short of it by at most the stated bound: about one request's
// cost (here 1) per key holding a lease when the quota runs out, plus, when objects restart, what
// they held out of the quota at that moment.

const KEYS = 100;
const QUOTA = 10_000;
const REQUESTS = 20_000;
const CONNECTIONS = 64;
/** Under-admission at the quota's end: one request's cost per key holding a lease. */
const END_BOUND = KEYS * 1;

interface Run {
  /** Requests the gateway let through to the origin (answered by it, or given up on after ORIGIN_TIMEOUT_MS). */
  admitted: number;
  statuses: Record<string, number>;
}

/** Answers of requests keygate admitted: the origin's, or its own when the origin was too slow under this load. */
const ADMITTED = new Set(["ok", "origin_timeout"]);

/** What a key's object held of the quota when it was restarted, read in the same step as its restart. */
interface KeyAtRestart {
  /** Reserved units stored and not yet spent: a restart counts them as spent. */
  unusedReserved: number;
  /** Whether it was asking the quota object for a lease (that lease, if granted, it never learns). */
  leasing: boolean;
}

async function keysOfOneTenant(): Promise<{ tenantId: string; keys: PlanKeyBody[] }> {
  const tenant = await tenantWithQuotas({ live: { limit: QUOTA, period: "month" } }, "Shared quota");
  const keys: PlanKeyBody[] = [];
  for (let i = 0; i < KEYS; i += 10) {
    // Each key's own window is far above its share, so only the quota refuses.
    keys.push(...(await Promise.all(Array.from({ length: 10 }, () => planKey({ tenant_id: tenant.id, rate_limit: { limit: 1_000, window_seconds: 60 } })))));
  }
  return { tenantId: tenant.id, keys };
}

/**
 * Sends REQUESTS requests round the keys over CONNECTIONS concurrent connections; `during` runs
 * (while the others go on) when the request numbered by each of `at` is sent.
 */
async function load(keys: PlanKeyBody[], during?: { at: number[]; run: () => Promise<void> }): Promise<Run> {
  const statuses: Record<string, number> = {};
  let next = 0;
  const runs: Promise<void>[] = [];
  const connection = async () => {
    for (let i = next++; i < REQUESTS; i = next++) {
      if (during?.at.includes(i)) runs.push(during.run());
      const key = keys[i % KEYS]!;
      const res = await gateway(`/shared/${i}`, withKey(key.key));
      const outcome = res.status === 200 ? "ok" : (await errorOf(res)).error.code;
      if (res.status === 200) await res.body?.cancel();
      statuses[outcome] = (statuses[outcome] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, connection));
  await Promise.all(runs);
  return { admitted: Object.entries(statuses).reduce((sum, [outcome, n]) => sum + (ADMITTED.has(outcome) ? n : 0), 0), statuses };
}

/**
 * What reached the origin against what keygate admitted: every request answered 200, and of those
 * whose origin call keygate gave up on (504 origin_timeout, which a loaded machine produces) any
 * number, as such a request may never have got there. With no timeout: exactly what was admitted.
 */
function expectAtOrigin(atOrigin: number, run: Run): void {
  expect(atOrigin).toBeGreaterThanOrEqual(run.statuses.ok ?? 0);
  expect(atOrigin).toBeLessThanOrEqual(run.admitted);
}

async function atOrigin(keys: PlanKeyBody[]): Promise<number> {
  const counts = await originCounts();
  return keys.reduce((sum, key) => sum + (counts[key.id] ?? 0), 0);
}

/**
 * Runs `read` in the object and restarts it in the same step (`ctx.abort()`, as an exception or a
 * deploy would): nothing can happen in between. abort() throws in the caller by design.
 */
async function readAndRestart<T>(stub: DurableObjectStub, read: (instance: unknown, state: DurableObjectState) => T): Promise<T> {
  let seen: T | undefined;
  await runInDurableObject(stub, (instance, state) => {
    seen = read(instance, state);
    state.abort("restarted by the test");
  }).catch(() => {});
  return seen!;
}

/** Restarts a key's object, reading what a restart can cost it. */
function restartKeyObject(keyId: string): Promise<KeyAtRestart> {
  return readAndRestart(env.KEY_GUARD.getByName(keyId), (instance) => {
    const guard = instance as { reservation: { units: number | null }; reserved: { units: number }; renewal: Promise<void> | null };
    return { unusedReserved: Math.max(0, (guard.reservation.units ?? 0) - guard.reserved.units), leasing: guard.renewal !== null };
  });
}

/** Restarts the quota object, reading the units out in leases and the largest lease. */
function restartQuotaObject(name: string): Promise<{ outstanding: number; largest: number }> {
  return readAndRestart(env.QUOTA_GUARD.getByName(name), (_instance, state) => {
    const seen = state.storage.sql.exec<{ outstanding: number | null; largest: number | null }>("SELECT sum(granted) AS outstanding, max(granted) AS largest FROM leases").one();
    return { outstanding: seen.outstanding ?? 0, largest: seen.largest ?? 0 };
  });
}

describe(`${KEYS} keys of one tenant, a quota of ${QUOTA}, ${REQUESTS} requests over ${CONNECTIONS} connections`, { timeout: 600_000 }, () => {
  it(`admits at most ${QUOTA} to the origin, and at least ${QUOTA} - ${END_BOUND}`, async () => {
    const { tenantId, keys } = await keysOfOneTenant();
    const run = await load(keys);
    expectAtOrigin(await atOrigin(keys), run);
    expect(run.admitted).toBeLessThanOrEqual(QUOTA);
    expect(run.admitted).toBeGreaterThanOrEqual(QUOTA - END_BOUND);
    const { ok: _ok, origin_timeout: _timedOut, ...refused } = run.statuses;
    expect(refused).toEqual({ quota_exceeded: REQUESTS - run.admitted });
    // The quota object counts everything admitted, and units still out in leases, as used.
    const quota = (await getTenantBody(tenantId)).quotas.live!;
    expect(quota.used).toBeGreaterThanOrEqual(run.admitted);
    expect(quota.used).toBeLessThanOrEqual(QUOTA);
  });

  it("the same with the quota object and every key's object restarted mid-run, twice", async () => {
    const { tenantId, keys } = await keysOfOneTenant();
    // What each restart can cost: units a key's object had reserved and not spent (counted as
    // spent), the leases out at the quota object (a grant whose answer a restart cut off counts
    // whole), and a lease for each key that was asking for one when its object restarted.
    const costs: number[] = [];
    // A quarter in, the quota is half spent and leases are at their largest; halfway, it runs out.
    const run = await load(keys, {
      at: [REQUESTS / 4, REQUESTS / 2],
      run: async () => {
        const keyStates = await Promise.all(keys.map((key) => restartKeyObject(key.id)));
        const quota = await restartQuotaObject(quotaObject(tenantId, "live"));
        const unusedReserved = keyStates.reduce((sum, key) => sum + key.unusedReserved, 0);
        costs.push(unusedReserved + quota.outstanding + keyStates.filter((key) => key.leasing).length * quota.largest);
      },
    });
    expect(costs).toHaveLength(2);
    const restartBound = costs[0]! + costs[1]!;

    expectAtOrigin(await atOrigin(keys), run);
    expect(run.admitted).toBeLessThanOrEqual(QUOTA);
    expect(run.admitted).toBeGreaterThanOrEqual(QUOTA - END_BOUND - restartBound);
    // A request in flight in a restarted object is asked again of the restarted one (as a deploy
    // restarts objects under calls in flight): no request fails, every refusal is the quota's.
    const { ok = 0, origin_timeout = 0, ...refused } = run.statuses;
    expect(refused).toEqual({ quota_exceeded: REQUESTS - ok - origin_timeout });
  });
});
