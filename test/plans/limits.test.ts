import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { keygate, type KeygateVariables } from "../../src/client/hono";
import { systemClock } from "../../src/clock";
import { periodAt } from "../../src/counting/calendar";
import { admin, createTenant, originCounts } from "../support/client";
import { json } from "../admin/support";
import { keygateBinding, verifyOverHttp } from "../support/verify";
import { call, outcomes, planKey, setQuotas, standing, tenantWithQuotas } from "./support";

/** `"a";q=1;w=2, "b";r=3;t=4` as {a: {q: 1, w: 2}, b: {r: 3, t: 4}}, in order; throws on any other shape. */
function parseList(header: string | null): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const item of (header ?? "").split(", ")) {
    const match = /^"([a-z][a-z0-9_-]*)"((?:;[a-z]=\d+)+)$/.exec(item);
    if (!match) throw new Error(`not a RateLimit list: ${header}`);
    out[match[1]!] = Object.fromEntries(match[2]!.slice(1).split(";").map((pair) => [pair[0]!, Number(pair.slice(2))]));
  }
  return out;
}

const seconds = (span: { start: number; end: number }) => Math.round((span.end - span.start) / 1000);

describe("a key with burst and sustained windows", () => {
  it("is refused by each in turn, and a refusal by one counts in neither", async () => {
    const key = await planKey({
      tenant_id: (await createTenant()).id,
      rate_limits: [
        { name: "burst", limit: 3, window_seconds: 1 },
        { name: "sustained", limit: 5, window_seconds: 3600 },
      ],
    });
    expect(await outcomes(key.key, 3)).toEqual(["ok", "ok", "ok"]);
    const byBurst = await call(key.key);
    expect(byBurst.outcome).toBe("rate_limit_exceeded");
    expect(parseList(byBurst.headers.get("ratelimit"))).toMatchObject({ burst: { r: 0 }, sustained: { r: 2 } });
    expect(byBurst.headers.get("retry-after")).toBe("1");
    expect(await standing(key.key)).toEqual({ burst: 0, sustained: 2 });

    // A second later the burst window has room again; the sustained one runs out after two more.
    systemClock.advance(1_000);
    expect(await outcomes(key.key, 2)).toEqual(["ok", "ok"]);
    const bySustained = await call(key.key);
    expect(bySustained.outcome).toBe("rate_limit_exceeded");
    expect(parseList(bySustained.headers.get("ratelimit"))).toMatchObject({ burst: { r: 1 }, sustained: { r: 0 } });
    expect(Number(bySustained.headers.get("retry-after"))).toBeGreaterThan(3590);
    expect(await standing(key.key)).toEqual({ burst: 1, sustained: 0 });
    expect((await originCounts())[key.id]).toBe(5);
  });
});

describe("the rate-limit headers and verify answers", () => {
  it("list every policy that applies: each window, the key's credits, the tenant's quota", async () => {
    const tenant = await tenantWithQuotas({ live: { limit: 1_000_000, period: "month" } });
    const key = await planKey({
      tenant_id: tenant.id,
      rate_limits: [
        { name: "burst", limit: 20, window_seconds: 1 },
        { name: "sustained", limit: 10_000, window_seconds: 3600 },
      ],
      credits: { remaining: 500, refill: { amount: 1000, interval: "month" } },
    });
    const month = periodAt(systemClock.now(), { period: "month", anchorDay: 1 });
    const { outcome, headers } = await call(key.key);
    expect(outcome).toBe("ok");
    expect(headers.get("ratelimit-policy")).toBe(
      `"burst";q=20;w=1, "sustained";q=10000;w=3600, "credits";q=1000;w=${seconds(month)}, "project";q=1000000;w=${seconds(month)}`,
    );
    const remaining = parseList(headers.get("ratelimit"));
    expect(Object.keys(remaining)).toEqual(["burst", "sustained", "credits", "project"]);
    expect(remaining).toMatchObject({ burst: { r: 19, t: 1 }, sustained: { r: 9999 }, credits: { r: 499 }, project: { r: 999_999 } });
    // Above 4,000 a window counts in buckets of 1/1,000 of it: a request counts until its bucket's end.
    expect(remaining.sustained!.t).toBeGreaterThanOrEqual(3600);
    expect(remaining.sustained!.t).toBeLessThanOrEqual(3604);
    const untilMonthEnd = Math.ceil((month.end - systemClock.now()) / 1000);
    expect(Math.abs(remaining.credits!.t! - untilMonthEnd)).toBeLessThanOrEqual(2);
    expect(Math.abs(remaining.project!.t! - untilMonthEnd)).toBeLessThanOrEqual(2);
    // The classic trio speaks of the tightest window.
    expect(headers.get("x-ratelimit-limit")).toBe("20");

    // A verification (HTTP or the binding) carries the same figures, and spends one more of each.
    for (const [verify, spent] of [[(body: object) => verifyOverHttp(body).then((r) => r.body), 2], [(body: object) => keygateBinding.verify(body), 3]] as const) {
      const answer = await verify({ key: key.key });
      expect(answer.valid).toBe(true);
      expect(answer.limits.map(({ name, limit, remaining, window_seconds }) => ({ name, limit, remaining, window_seconds }))).toEqual([
        { name: "burst", limit: 20, remaining: 20 - spent, window_seconds: 1 },
        { name: "sustained", limit: 10_000, remaining: 10_000 - spent, window_seconds: 3600 },
        { name: "credits", limit: 1000, remaining: 500 - spent, window_seconds: seconds(month) },
        { name: "project", limit: 1_000_000, remaining: 1_000_000 - spent, window_seconds: seconds(month) },
      ]);
      expect(answer.limits.find((limit) => limit.name === "project")!.reset).toBe(month.end);
    }
  });

  it("a refusal by credits or quota carries Retry-After until the refill or the period's end", async () => {
    const tenant = await tenantWithQuotas({ live: { limit: 1, period: "day" } });
    const day = periodAt(systemClock.now(), { period: "day" });
    const quotaKey = await planKey({ tenant_id: tenant.id });
    expect(await outcomes(quotaKey.key, 1)).toEqual(["ok"]);
    const byQuota = await call(quotaKey.key);
    expect(byQuota.outcome).toBe("quota_exceeded");
    expect(Math.abs(Number(byQuota.headers.get("retry-after")) - Math.ceil((day.end - systemClock.now()) / 1000))).toBeLessThanOrEqual(2);

    const creditKey = await planKey({ tenant_id: (await createTenant()).id, credits: { remaining: 0, refill: { amount: 5, interval: "day" } } });
    // A refill the key has not seen yet fills it at once: this period's credits were set to 0 on purpose.
    const byCredits = await call(creditKey.key);
    expect(byCredits.outcome).toBe("usage_exceeded");
    expect(Math.abs(Number(byCredits.headers.get("retry-after")) - Math.ceil((day.end - systemClock.now()) / 1000))).toBeLessThanOrEqual(2);

    const spent = await planKey({ tenant_id: (await createTenant()).id, credits: { remaining: 0 } });
    const never = await call(spent.key);
    expect(never.outcome).toBe("usage_exceeded");
    expect(never.headers.get("retry-after")).toBeNull();
  });
});

describe("a refusal by any stage leaves every other stage's count unchanged", () => {
  it("a window's refusal spends no credit and no quota", async () => {
    const tenant = await tenantWithQuotas({ live: { limit: 100, period: "day" } });
    const key = await planKey({ tenant_id: tenant.id, rate_limits: [{ name: "hourly", limit: 2, window_seconds: 3600 }], credits: { remaining: 10 } });
    expect(await outcomes(key.key, 2)).toEqual(["ok", "ok"]);
    expect(await standing(key.key)).toEqual({ hourly: 0, credits: 8, project: 98 });
    expect(await outcomes(key.key, 3)).toEqual(["rate_limit_exceeded", "rate_limit_exceeded", "rate_limit_exceeded"]);
    expect(await standing(key.key)).toEqual({ hourly: 0, credits: 8, project: 98 });
  });

  it("the credits' refusal counts in no window and spends no quota", async () => {
    const tenant = await tenantWithQuotas({ live: { limit: 100, period: "day" } });
    const key = await planKey({ tenant_id: tenant.id, rate_limits: [{ name: "hourly", limit: 10, window_seconds: 3600 }], credits: { remaining: 5 } });
    expect(await outcomes(key.key, 1)).toEqual(["ok"]);
    expect(await standing(key.key)).toEqual({ hourly: 9, credits: 4, project: 99 });
    // An image costs 10 (ROUTE_COSTS): more than the key has left.
    expect(await outcomes(key.key, 2, "/images/cat", "POST")).toEqual(["usage_exceeded", "usage_exceeded"]);
    expect(await standing(key.key)).toEqual({ hourly: 9, credits: 4, project: 99 });
    expect(await outcomes(key.key, 1)).toEqual(["ok"]);
    expect(await standing(key.key)).toEqual({ hourly: 8, credits: 3, project: 98 });
  });

  it("the quota's refusal counts in no window and spends no credit", async () => {
    const tenant = await tenantWithQuotas({ live: { limit: 4, period: "day" } });
    const other = await planKey({ tenant_id: tenant.id });
    const key = await planKey({ tenant_id: tenant.id, rate_limits: [{ name: "hourly", limit: 10, window_seconds: 3600 }], credits: { remaining: 10 } });
    // Another key of the tenant spends what it can; then this key spends until the quota refuses it.
    for (let i = 0; i < 10 && (await call(other.key)).outcome === "ok"; i++);
    let before = await standing(key.key);
    for (let i = 0; i < 10; i++) {
      const { outcome } = await call(key.key);
      if (outcome === "quota_exceeded") break;
      expect(outcome).toBe("ok");
      before = await standing(key.key);
    }
    const after = await standing(key.key);
    expect(after).toEqual({ ...before, project: 0 });
    expect(await outcomes(key.key, 2)).toEqual(["quota_exceeded", "quota_exceeded"]);
    expect(await standing(key.key)).toEqual(after);
    expect(((await originCounts())[key.id] ?? 0) + ((await originCounts())[other.id] ?? 0)).toBe(4);
  });

  it("a missing scope counts nowhere", async () => {
    const tenant = await tenantWithQuotas({ live: { limit: 100, period: "day" } });
    const key = await planKey({ tenant_id: tenant.id, scopes: ["read"], rate_limits: [{ name: "hourly", limit: 10, window_seconds: 3600 }], credits: { remaining: 10 } });
    expect(await outcomes(key.key, 1)).toEqual(["ok"]);
    const before = await standing(key.key);
    expect(await outcomes(key.key, 2, "/servers/1", "DELETE")).toEqual(["insufficient_permissions", "insufficient_permissions"]);
    expect(await standing(key.key)).toEqual(before);
  });
});

describe("a verification", () => {
  it("with cost 0 only checks: no window, credit or quota is counted", async () => {
    const tenant = await tenantWithQuotas({ live: { limit: 10, period: "day" } });
    const key = await planKey({ tenant_id: tenant.id, rate_limits: [{ name: "hourly", limit: 3, window_seconds: 3600 }], credits: { remaining: 5 } });
    expect(await outcomes(key.key, 1)).toEqual(["ok"]);
    const before = await standing(key.key);
    expect(before).toEqual({ hourly: 2, credits: 4, project: 9 });
    for (let i = 0; i < 5; i++) {
      const { body } = await verifyOverHttp({ key: key.key, cost: 0 });
      expect(body.valid).toBe(true);
      expect((await keygateBinding.verify({ key: key.key, cost: 0 })).valid).toBe(true);
    }
    expect(await standing(key.key)).toEqual(before);
    // A cost spends that many credits and quota units, and one request in each window.
    expect((await verifyOverHttp({ key: key.key, cost: 3 })).body.valid).toBe(true);
    expect(await standing(key.key)).toEqual({ hourly: 1, credits: 1, project: 6 });
    const refused = await verifyOverHttp({ key: key.key, cost: 2 });
    expect(refused.body).toMatchObject({ valid: false, code: "usage_exceeded" });
    expect(await standing(key.key)).toEqual({ hourly: 1, credits: 1, project: 6 });
  });
});

describe("keygate/hono's cost", () => {
  // A customer's Worker charging by what the request asks for, over the real binding.
  const app = new Hono<{ Variables: KeygateVariables }>();
  app.use("*", keygate({ binding: () => keygateBinding, cost: (c) => Number(c.req.query("units") ?? 1) }));
  app.get("*", (c) => c.json(c.get("keygate")));
  app.onError((error, c) => c.json({ error: error.message }, 500));
  const send = (key: string, units: string) => app.request(`https://customer.example.com/reports?units=${units}`, { headers: { "x-api-key": key } });

  it("spends what the app says the request costs, 0 only checks, and a cost keygate cannot take fails the app's request, spending nothing", async () => {
    const tenant = await tenantWithQuotas({ live: { limit: 10, period: "day" } });
    const key = await planKey({ tenant_id: tenant.id, rate_limits: [{ name: "hourly", limit: 5, window_seconds: 3600 }], credits: { remaining: 5 } });
    expect((await send(key.key, "3")).status).toBe(200);
    // Three credits and quota units, one request in each window.
    expect(await standing(key.key)).toEqual({ hourly: 4, credits: 2, project: 7 });
    expect((await send(key.key, "0")).status).toBe(200);
    for (const units of ["-1", "1.5", "NaN"]) {
      const res = await send(key.key, units);
      expect(res.status, units).toBe(500);
      expect(((await res.json()) as { error: string }).error).toMatch(/cost must be a whole number/);
    }
    const refused = await send(key.key, "3");
    expect(refused.status).toBe(429);
    expect(await standing(key.key)).toEqual({ hourly: 4, credits: 2, project: 7 });
  });
});

describe("keygate/hono mounted twice on one request", () => {
  // app.use on every route, and a route that needs a scope of its own, as docs/service-binding.md shows.
  const app = new Hono<{ Variables: KeygateVariables }>();
  app.use("/api/*", keygate({ binding: () => keygateBinding }));
  app.delete("/api/servers/:id", keygate({ binding: () => keygateBinding, scopes: ["servers:delete"] }), (c) => c.body(null, 204));
  app.post("/api/images", keygate({ binding: () => keygateBinding, cost: 10 }), (c) => c.body(null, 202));
  app.onError((error, c) => c.json({ error: error.message }, 500));
  const send = (key: string, method: string, path: string) => app.request(`https://customer.example.com${path}`, { method, headers: { "x-api-key": key } });

  it("counts the request once; the second only checks its scopes; a cost given to the second is the app's error", async () => {
    const tenant_id = (await createTenant()).id;
    const key = await planKey({ tenant_id, scopes: ["read", "write", "servers:delete"], rate_limits: [{ name: "hourly", limit: 5, window_seconds: 3600 }] });
    expect((await send(key.key, "DELETE", "/api/servers/7")).status).toBe(204);
    expect(await standing(key.key)).toEqual({ hourly: 4 });
    const narrow = await planKey({ tenant_id, scopes: ["read", "write"], rate_limits: [{ name: "hourly", limit: 5, window_seconds: 3600 }] });
    const refused = await send(narrow.key, "DELETE", "/api/servers/7");
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("insufficient_permissions");
    const misplaced = await send(key.key, "POST", "/api/images");
    expect(misplaced.status).toBe(500);
    expect(((await misplaced.json()) as { error: string }).error).toMatch(/give the cost there/);
  });
});

describe("a quota changed mid-run", () => {
  it("lowered: stops admissions on the very next request of every key; raised: admits again; removed: no quota at all", async () => {
    const tenant = await tenantWithQuotas({ live: { limit: 1000, period: "day" } });
    const keys = await Promise.all(Array.from({ length: 5 }, () => planKey({ tenant_id: tenant.id })));
    // Each key spends, and holds a lease of the quota while it does.
    for (let round = 0; round < 10; round++) for (const key of keys) expect((await call(key.key)).outcome).toBe("ok");
    const spent = 50;

    const lowered = await setQuotas(tenant.id, { live: { limit: spent, period: "day" } });
    // Every key gave its lease back before the call returned: used is what was spent.
    expect(lowered.quotas.live).toMatchObject({ limit: spent, used: spent, remaining: 0 });
    for (const key of keys) expect((await call(key.key)).outcome).toBe("quota_exceeded");

    await setQuotas(tenant.id, { live: { limit: spent + 3, period: "day" } });
    const next = await Promise.all(keys.map((key) => call(key.key)));
    expect(next.map((r) => r.outcome).sort()).toEqual(["ok", "ok", "ok", "quota_exceeded", "quota_exceeded"]);

    await setQuotas(tenant.id, { live: null });
    for (const key of keys) {
      const { outcome, headers } = await call(key.key);
      expect(outcome).toBe("ok");
      expect(headers.get("ratelimit-policy")).toBe('"default";q=60;w=60');
    }
    const counts = await originCounts();
    expect(keys.reduce((sum, key) => sum + (counts[key.id] ?? 0), 0)).toBe(spent + 3 + keys.length);
  });

  it("suspending the tenant holds from the next request, as for a key without a quota", async () => {
    const tenant = await tenantWithQuotas({ live: { limit: 1000, period: "day" } });
    const key = await planKey({ tenant_id: tenant.id });
    expect(await outcomes(key.key, 2)).toEqual(["ok", "ok"]);
    await json(await admin("PATCH", `/tenants/${tenant.id}`, { status: "suspended" }), 200);
    expect(await outcomes(key.key, 1)).toEqual(["tenant_inactive"]);
  });
});
