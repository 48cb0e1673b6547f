import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Quota } from "../../src/authority/plan";
import { systemClock } from "../../src/clock";
import { periodAt } from "../../src/counting/calendar";
import type { LeaseAnswer } from "../../src/guards/quota-guard";
import { quotaObject as quotaObjectName } from "../../src/authority/key";
import { createKey, errorOf, gateway, originCounts, uniqueIp, withKey } from "../support/client";
import { resetObject, statuses, writeThroughKeyGuard } from "./support";

// The tenant's quota object, asked the way keys' objects ask it: whatever order leases come and go
// in, and whichever of them are lost, the units spent in a period never exceed the quota.

const DAILY: Quota = { limit: 100, period: "day" };

function quotaObject(quota: Quota | null = DAILY) {
  const name = `quota-test-${crypto.randomUUID()}`;
  const stub = env.QUOTA_GUARD.getByName(name);
  return { name, stub, configured: stub.configure(quota, 1) };
}

const granted = (answer: LeaseAnswer) => answer.lease?.granted ?? 0;

describe("leases of a tenant's quota", () => {
  it("never grants more than the quota in a period, however many keys ask and whatever they report spent", async () => {
    const { stub, configured } = quotaObject();
    await configured;
    let out = 0;
    let spentTotal = 0;
    // 30 keys asking again and again, each spending all it got: the grants add up to the quota exactly.
    const leases = new Map<string, { id: number; granted: number }>();
    for (let round = 0; round < 20; round++) {
      for (let k = 0; k < 30; k++) {
        const keyId = `key_${k}`;
        const held = leases.get(keyId);
        const answer = await stub.acquire({ keyId, closing: held ? { id: held.id, spent: held.granted } : null, want: 10, cost: 1 });
        if (held) spentTotal += held.granted;
        if (answer.lease) leases.set(keyId, { id: answer.lease.id, granted: answer.lease.granted });
        else leases.delete(keyId);
        out += granted(answer);
      }
    }
    for (const held of leases.values()) spentTotal += held.granted;
    expect(out).toBe(DAILY.limit);
    expect(spentTotal).toBe(DAILY.limit);
    expect((await stub.standing())!.remaining).toBe(0);
  });

  it("shrinks leases as the quota runs down, never below the waiting request's cost while units are left", async () => {
    const { stub, configured } = quotaObject({ limit: 1_000, period: "day" });
    await configured;
    const first = await stub.acquire({ keyId: "a", closing: null, want: 10_000, cost: 1 });
    // Half of what is free, shared among the keys holding one (none yet, plus this one).
    expect(granted(first)).toBe(500);
    const second = await stub.acquire({ keyId: "b", closing: null, want: 10_000, cost: 1 });
    expect(granted(second)).toBe(125);
    // A request costing more than any share still gets what it costs while that much is free.
    const costly = await stub.acquire({ keyId: "c", closing: null, want: 1, cost: 300 });
    expect(granted(costly)).toBe(300);
    // 75 are free: a request costing 100 gets nothing (a lease never holds less than its request)...
    const tooCostly = await stub.acquire({ keyId: "d", closing: null, want: 1, cost: 100 });
    expect(tooCostly.lease).toBeNull();
    expect(tooCostly.standing).toMatchObject({ limit: 1_000, used: 925, remaining: 75 });
    // ...while one costing 1 still gets its unit.
    expect(granted(await stub.acquire({ keyId: "e", closing: null, want: 1, cost: 1 }))).toBe(1);
  });

  it("counts a lease its key lost (a restart before it could give it back) as spent in full", async () => {
    const { stub, configured } = quotaObject();
    await configured;
    const lost = await stub.acquire({ keyId: "k", closing: null, want: 40, cost: 1 });
    expect(granted(lost)).toBe(40);
    // The key's object restarted and asks again without the lease: the lost one counts whole.
    const next = await stub.acquire({ keyId: "k", closing: null, want: 10, cost: 1 });
    expect((await stub.standing())!.used).toBe(40 + granted(next));
    // Giving back a lease twice (a retry after a restart) counts it once.
    await stub.release("k", { id: next.lease!.id, spent: 3 });
    await stub.release("k", { id: next.lease!.id, spent: 3 });
    expect((await stub.standing())!.used).toBe(43);
  });

  it("starts every period from nothing; leases of the last one are void", async () => {
    const { stub, configured } = quotaObject();
    await configured;
    const old = await stub.acquire({ keyId: "k", closing: null, want: 60, cost: 1 });
    expect(old.lease!.period).toEqual(periodAt(systemClock.now(), DAILY));
    systemClock.advance(old.lease!.period.end - systemClock.now());
    const fresh = await stub.acquire({ keyId: "k", closing: { id: old.lease!.id, spent: 60 }, want: 60, cost: 1 });
    expect(fresh.lease!.period.start).toBe(old.lease!.period.end);
    // The old lease's report belongs to the old period: the new one has spent nothing but its own lease.
    expect((await stub.standing())!.used).toBe(granted(fresh));
  });

  it("takes a new quota from a newer version only, and answers no lease without a quota", async () => {
    const { stub, configured } = quotaObject();
    await configured;
    await stub.configure({ limit: 10, period: "day" }, 5);
    await stub.configure({ limit: 1_000, period: "day" }, 4); // an older change arriving late
    expect((await stub.standing())!.limit).toBe(10);
    await stub.configure(null, 6);
    expect(await stub.standing()).toBeNull();
    expect(await stub.acquire({ keyId: "k", closing: null, want: 1, cost: 1 })).toEqual({ lease: null, standing: null });
  });

  it("stores a lease before answering it: an object reset right after still counts it", async () => {
    const { name, stub, configured } = quotaObject();
    await configured;
    const lease = await stub.acquire({ keyId: "k", closing: null, want: 50, cost: 1 });
    await runInDurableObject(stub, (_instance, state) => {
      try {
        state.abort("reset by the test");
      } catch {
        // abort() throws in the caller by design.
      }
    }).catch(() => {});
    expect((await env.QUOTA_GUARD.getByName(name).standing())!.used).toBe(granted(lease));
  });
});

describe("a key spending its tenant's quota", () => {
  async function keyUnderQuota(limit: number) {
    const key = await createKey({ rate_limit: { limit: 10_000, window_seconds: 3_600 } });
    const object = quotaObjectName(key.tenant_id, "live");
    await env.QUOTA_GUARD.getByName(object).configure({ limit, period: "day" }, 1);
    await writeThroughKeyGuard(key, { quota: { object, version: 1 } });
    return { key, object };
  }

  it("admits exactly the quota, leasing units only when its lease runs out", async () => {
    const { key, object } = await keyUnderQuota(50);
    const results = await statuses(key.key, 60, uniqueIp(), "/quota");
    expect(results.filter((s) => s === 200)).toHaveLength(50);
    expect(results.slice(50).every((s) => s === 429)).toBe(true);
    const refused = await gateway("/quota", withKey(key.key));
    expect((await errorOf(refused)).error.code).toBe("quota_exceeded");
    // Until the day's end, when the quota starts over.
    const period = periodAt(systemClock.now(), { period: "day" });
    expect(Number(refused.headers.get("retry-after"))).toBe(Math.ceil((period.end - systemClock.now()) / 1000));
    expect(refused.headers.get("ratelimit-policy")).toContain(`"project";q=50;w=86400`);
    expect((await env.QUOTA_GUARD.getByName(object).standing())!.remaining).toBe(0);
  });

  it("never over-admits when the key's object is reset right after its replies", async () => {
    const { key } = await keyUnderQuota(40);
    const before = (await originCounts())[key.id] ?? 0;
    let resets = 0;
    for (let burst = 0; burst < 15; burst++) {
      await statuses(key.key, 5, uniqueIp(), "/quota-reset");
      await resetObject(key.id);
      resets++;
    }
    const admitted = ((await originCounts())[key.id] ?? 0) - before;
    expect(admitted).toBeLessThanOrEqual(40);
    expect(admitted).toBeGreaterThan(0);
    expect(await statuses(key.key, 1, uniqueIp(), "/quota-reset")).toEqual([429]);
    expect(resets).toBe(15);
  });
});
