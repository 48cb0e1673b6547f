import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { periodAt } from "../../src/counting/calendar";
import { systemClock } from "../../src/clock";
import { admin, createKey, createTenant } from "../support/client";
import { asKey, expectError, failingFields, json, storedState, type List } from "../admin/support";
import { verifyOverHttp } from "../support/verify";
import { call, getKeyBody, getTenantBody, outcomes, planKey, setQuotas, standing, tenantWithQuotas, type PlanKeyBody, type TenantBody } from "./support";

/** The audit events of a resource, oldest first: action and details. */
async function auditOf(resourceId: string): Promise<{ action: string; details: Record<string, unknown> | null }[]> {
  const { results } = await env.DB.prepare("SELECT action, details FROM audit_events WHERE resource_id = ? ORDER BY created_at, id")
    .bind(resourceId)
    .all<{ action: string; details: string | null }>();
  return results.map((row) => ({ action: row.action, details: row.details === null ? null : JSON.parse(row.details) }));
}

const BURST_AND_SUSTAINED = [
  { name: "burst", limit: 20, window_seconds: 1 },
  { name: "sustained", limit: 10_000, window_seconds: 3600 },
];

describe("a key's windows", () => {
  it("are taken as rate_limits on create and update, shown in every view, in force for the next request", async () => {
    const tenant = await createTenant();
    const key = await planKey({ tenant_id: tenant.id, rate_limits: BURST_AND_SUSTAINED });
    expect(key.rate_limits).toEqual(BURST_AND_SUSTAINED);
    // The one-window field shows the first window, for clients that know only it.
    expect(key.rate_limit).toEqual({ limit: 20, window_seconds: 1 });
    expect((await getKeyBody(key.id)).rate_limits).toEqual(BURST_AND_SUSTAINED);
    const listed = await json<List<PlanKeyBody>>(await admin("GET", `/keys?tenant_id=${tenant.id}`), 200);
    expect(listed.data[0]!.rate_limits).toEqual(BURST_AND_SUSTAINED);
    expect((await call(key.key)).headers.get("ratelimit-policy")).toBe('"burst";q=20;w=1, "sustained";q=10000;w=3600');

    const patched = await json<PlanKeyBody>(await admin("PATCH", `/keys/${key.id}`, { rate_limits: [{ name: "hourly", limit: 2, window_seconds: 3600 }] }), 200);
    expect(patched.rate_limits).toEqual([{ name: "hourly", limit: 2, window_seconds: 3600 }]);
    expect(await outcomes(key.key, 3)).toEqual(["ok", "ok", "rate_limit_exceeded"]);
    expect(await auditOf(key.id)).toEqual([
      { action: "key.created", details: null },
      { action: "key.updated", details: { changes: { rate_limits: [{ name: "hourly", limit: 2, window_seconds: 3600 }] } } },
    ]);
  });

  it("rate_limit stays the one-window shorthand: a window named default", async () => {
    const key = await planKey({ tenant_id: (await createTenant()).id, rate_limit: { limit: 7, window_seconds: 60 } });
    expect(key.rate_limits).toEqual([{ name: "default", limit: 7, window_seconds: 60 }]);
    const patched = await json<PlanKeyBody>(await admin("PATCH", `/keys/${key.id}`, { rate_limit: { limit: 3, window_seconds: 30 } }), 200);
    expect(patched.rate_limits).toEqual([{ name: "default", limit: 3, window_seconds: 30 }]);
    expect((await call(key.key)).headers.get("ratelimit-policy")).toBe('"default";q=3;w=30');
  });
});

describe("a key's credits", () => {
  it("are set on create, counted down by the key's object, shown with their refill; lists show the plan only", async () => {
    const tenant = await createTenant();
    const key = await planKey({ tenant_id: tenant.id, credits: { remaining: 5, refill: { amount: 100, interval: "month", anchor_day: 15 } } });
    const refillsAt = new Date(periodAt(systemClock.now(), { period: "month", anchorDay: 15 }).end).toISOString();
    expect(key.credits).toEqual({ remaining: 5, refill: { amount: 100, interval: "month", anchor_day: 15 }, refills_at: refillsAt });

    expect(await outcomes(key.key, 2)).toEqual(["ok", "ok"]);
    expect((await getKeyBody(key.id)).credits).toEqual({ remaining: 3, refill: { amount: 100, interval: "month", anchor_day: 15 }, refills_at: refillsAt });
    const listed = await json<List<PlanKeyBody>>(await admin("GET", `/keys?tenant_id=${tenant.id}`), 200);
    expect(listed.data[0]!.credits).toEqual({ remaining: null, refill: { amount: 100, interval: "month", anchor_day: 15 }, refills_at: refillsAt });
  });

  it("are set anew or removed by PATCH, in force for the next request, every change audited", async () => {
    const key = await planKey({ tenant_id: (await createTenant()).id, credits: { remaining: 1 } });
    expect(key.credits).toEqual({ remaining: 1, refill: null, refills_at: null });
    expect(await outcomes(key.key, 2)).toEqual(["ok", "usage_exceeded"]);

    const topped = await json<PlanKeyBody>(await admin("PATCH", `/keys/${key.id}`, { credits: { remaining: 2, refill: { amount: 50, interval: "day" } } }), 200);
    expect(topped.credits).toMatchObject({ remaining: 2, refill: { amount: 50, interval: "day" } });
    expect(await outcomes(key.key, 3)).toEqual(["ok", "ok", "usage_exceeded"]);

    const removed = await json<PlanKeyBody>(await admin("PATCH", `/keys/${key.id}`, { credits: null }), 200);
    expect(removed.credits).toBeNull();
    const free = await call(key.key);
    expect(free.outcome).toBe("ok");
    expect(free.headers.get("ratelimit-policy")).not.toContain("credits");
    expect(await env.DB.prepare("SELECT credits FROM api_keys WHERE id = ?").bind(key.id).first("credits")).toBeNull();

    expect((await auditOf(key.id)).map((event) => event.details)).toEqual([
      null,
      { changes: { credits: { remaining: 2, refill: { amount: 50, interval: "day" } } } },
      { changes: { credits: null } },
    ]);
  });

  it("move to the successor when the key is rotated: it has what was left, the old key none", async () => {
    const key = await planKey({ tenant_id: (await createTenant()).id, credits: { remaining: 10, refill: { amount: 10, interval: "day" } } });
    expect(await outcomes(key.key, 4)).toEqual(["ok", "ok", "ok", "ok"]);
    const successor = await json<PlanKeyBody>(await admin("POST", `/keys/${key.id}/rotate`, { grace_seconds: 600 }), 201);
    expect(successor.credits).toMatchObject({ remaining: 6, refill: { amount: 10, interval: "day" } });
    // The old key still authenticates during its grace, but has nothing left to spend, and no refill.
    expect((await getKeyBody(key.id)).credits).toEqual({ remaining: 0, refill: null, refills_at: null });
    expect(await outcomes(key.key, 1)).toEqual(["usage_exceeded"]);
    expect(await outcomes(key.key, 1, "/ping/1")).toEqual(["ok"]);
    expect(await outcomes(successor.key, 7)).toEqual(["ok", "ok", "ok", "ok", "ok", "ok", "usage_exceeded"]);
    expect((await auditOf(key.id)).at(-1)).toMatchObject({ action: "key.rotated", details: { rotated_to: successor.id, credits_moved: 6 } });
  });

  it("are never spent twice by requests racing the rotation: what the old key spent and what moved add up to the balance", async () => {
    const key = await planKey({ tenant_id: (await createTenant()).id, rate_limit: { limit: 1000, window_seconds: 60 }, credits: { remaining: 30 } });
    const racing = Promise.all(Array.from({ length: 40 }, () => call(key.key)));
    const rotated = admin("POST", `/keys/${key.id}/rotate`, { grace_seconds: 600 });
    const [old, successor] = await Promise.all([racing, rotated.then((res) => json<PlanKeyBody>(res, 201))]);
    const spentByOld = old.filter((r) => r.outcome === "ok").length;
    expect(old.every((r) => r.outcome === "ok" || r.outcome === "usage_exceeded")).toBe(true);
    expect(successor.credits!.remaining).toBe(30 - spentByOld);
    expect(await outcomes(key.key, 1)).toEqual(["usage_exceeded"]);
    const spentByNew = (await outcomes(successor.key, 31)).filter((o) => o === "ok").length;
    expect(spentByOld + spentByNew).toBe(30);
  });
});

describe("a tenant's own key with keys:manage and credits", () => {
  const MANAGER = ["keys:manage", "read", "write"];

  it("issues keys with no more credits than it has left, and no refill", async () => {
    const manager = await planKey({
      tenant_id: (await createTenant()).id,
      scopes: MANAGER,
      credits: { remaining: 100, refill: { amount: 100, interval: "day" } },
    });
    const create = (credits: unknown) =>
      asKey(manager.key, "POST", "/keys", { tenant_id: manager.tenant_id, scopes: ["read"], ...(credits === undefined ? {} : { credits }) });

    const tooMany = await expectError(await create({ remaining: 500 }), 403, "insufficient_permissions");
    expect(tooMany.error.details).toMatchObject({ field: "credits", refill: { amount: 100, interval: "day" } });
    await expectError(await create(null), 403, "insufficient_permissions");
    await expectError(await create({ remaining: 10, refill: { amount: 200, interval: "day" } }), 403, "insufficient_permissions");

    // Omitted: refused, as what it gives is taken from its own (given-credits.test.ts).
    expect(await failingFields(await create(undefined))).toEqual(["credits"]);
    // A refill would make credits each period that the manager's balance never paid for: none is given.
    const refilled = await expectError(await create({ remaining: 10, refill: { amount: 100, interval: "month" } }), 403, "insufficient_permissions");
    expect(refilled.error.details).toMatchObject({ field: "credits.refill" });
    const given = await json<PlanKeyBody>(await create({ remaining: 10 }), 201);
    expect(given.credits).toMatchObject({ remaining: 10, refill: null });

    // A key with more credits than the manager has left is not its to rotate.
    const rich = await planKey({ tenant_id: manager.tenant_id, scopes: ["read"], credits: { remaining: 1_000 } });
    await expectError(await asKey(manager.key, "POST", `/keys/${rich.id}/rotate`), 403, "insufficient_permissions");
    // Nor may it raise its own: changing a key is for admins.
    await expectError(await asKey(manager.key, "PATCH", `/keys/${manager.id}`, { credits: { remaining: 10_000 } }), 403, "insufficient_permissions");
    expect((await getKeyBody(rich.id)).rotated_to).toBeNull();
  });
});

describe("a tenant's quotas", () => {
  it("are set on create and shown by GET with used, remaining and resets_at; lists show the plan", async () => {
    const tenant = await tenantWithQuotas({ live: { limit: 1000, period: "month", anchor_day: 15 } });
    const resetsAt = new Date(periodAt(systemClock.now(), { period: "month", anchorDay: 15 }).end).toISOString();
    expect(tenant.quotas).toEqual({ live: { limit: 1000, period: "month", anchor_day: 15, used: 0, remaining: 1000, resets_at: resetsAt }, test: null });

    const live = await planKey({ tenant_id: tenant.id, environment: "live" });
    const testKey = await planKey({ tenant_id: tenant.id, environment: "test" });
    expect(await outcomes(live.key, 3)).toEqual(["ok", "ok", "ok"]);
    expect(await standing(live.key)).toMatchObject({ project: 997 });
    // A test key spends from the test quota, and there is none.
    expect((await call(testKey.key)).headers.get("ratelimit-policy")).not.toContain("project");

    const shown = (await getTenantBody(tenant.id)).quotas.live!;
    // Units leased to the key's object count as used until it gives them back.
    expect(shown.used).toBeGreaterThanOrEqual(3);
    expect(shown.remaining).toBe(1000 - shown.used!);
    const listed = await json<List<TenantBody>>(await admin("GET", "/tenants?limit=100"), 200);
    expect(listed.data.find((t) => t.id === tenant.id)!.quotas.live).toEqual({ limit: 1000, period: "month", anchor_day: 15, used: null, remaining: null, resets_at: null });
  });

  it("are changed and removed per environment by PATCH, audited once per change", async () => {
    const tenant = await tenantWithQuotas({ live: { limit: 1000, period: "day" } });
    const testKey = await planKey({ tenant_id: tenant.id, environment: "test" });
    expect(await outcomes(testKey.key, 3)).toEqual(["ok", "ok", "ok"]);

    const both = await setQuotas(tenant.id, { test: { limit: 2, period: "day" } });
    expect(both.quotas.live).toMatchObject({ limit: 1000, period: "day" });
    expect(both.quotas.test).toMatchObject({ limit: 2, period: "day", used: 0, remaining: 2 });
    expect(await outcomes(testKey.key, 3)).toEqual(["ok", "ok", "quota_exceeded"]);

    // The same change again stores nothing and audits nothing.
    await setQuotas(tenant.id, { test: { limit: 2, period: "day" } });
    const removed = await setQuotas(tenant.id, { test: null });
    expect(removed.quotas).toMatchObject({ live: { limit: 1000 }, test: null });
    expect(await outcomes(testKey.key, 2)).toEqual(["ok", "ok"]);

    expect((await auditOf(tenant.id)).map(({ action, details }) => [action, details])).toEqual([
      ["tenant.created", { quotas: { live: { limit: 1000, period: "day" } } }],
      ["tenant.quotas_changed", { quotas: { test: { limit: 2, period: "day" } } }],
      ["tenant.quotas_changed", { quotas: { test: null } }],
    ]);
  });
});

describe("bad plan input", () => {
  /** A request that must be refused with 400 naming `field`, and leave D1 as it was. */
  async function refused(method: string, path: string, body: unknown, field: string) {
    const before = await storedState();
    expect(await failingFields(await admin(method, path, body)), JSON.stringify(body)).toEqual([field]);
    expect(await storedState()).toEqual(before);
  }

  it("on a key: a limit of 0 or below, no window or more than four, one name twice or a reserved name, a negative credit, a bad anchor day", async () => {
    const tenant = await createTenant();
    const key = await createKey({ tenant_id: tenant.id });
    const window = (name: string, limit = 10) => ({ name, limit, window_seconds: 60 });
    const cases: [unknown, string][] = [
      [{ rate_limits: [window("a", 0)] }, "rate_limits.0.limit"],
      [{ rate_limits: [window("a", -5)] }, "rate_limits.0.limit"],
      [{ rate_limit: { limit: 0, window_seconds: 60 } }, "rate_limit.limit"],
      [{ rate_limits: [] }, "rate_limits"],
      [{ rate_limits: ["a", "b", "c", "d", "e"].map((name) => window(name)) }, "rate_limits"],
      [{ rate_limits: [window("burst"), window("burst")] }, "rate_limits.1.name"],
      [{ rate_limits: [window("credits")] }, "rate_limits.0.name"],
      [{ rate_limits: [window("project")] }, "rate_limits.0.name"],
      [{ rate_limits: [window("Burst")] }, "rate_limits.0.name"],
      [{ rate_limit: { limit: 5, window_seconds: 60 }, rate_limits: [window("a")] }, "rate_limits"],
      [{ credits: { remaining: -1 } }, "credits.remaining"],
      [{ credits: { remaining: 5, refill: { amount: 0, interval: "day" } } }, "credits.refill.amount"],
      [{ credits: { remaining: 5, refill: { amount: 10, interval: "month", anchor_day: 0 } } }, "credits.refill.anchor_day"],
      [{ credits: { remaining: 5, refill: { amount: 10, interval: "month", anchor_day: 32 } } }, "credits.refill.anchor_day"],
      [{ credits: { remaining: 5, refill: { amount: 10, interval: "day", anchor_day: 3 } } }, "credits.refill.anchor_day"],
      [{ credits: { remaining: 5, refill: { amount: 10, interval: "week" } } }, "credits.refill.interval"],
    ];
    for (const [body, field] of cases) {
      await refused("POST", "/keys", { tenant_id: tenant.id, ...(body as object) }, field);
      await refused("PATCH", `/keys/${key.id}`, body, field);
    }
  });

  it("on a tenant: a quota of 0 or below, an unknown period, a bad anchor day, status and quotas at once", async () => {
    const tenant = await createTenant();
    const cases: [unknown, string][] = [
      [{ live: { limit: 0, period: "month" } }, "quotas.live.limit"],
      [{ test: { limit: -1, period: "day" } }, "quotas.test.limit"],
      [{ live: { limit: 10, period: "week" } }, "quotas.live.period"],
      [{ live: { limit: 10, period: "month", anchor_day: 0 } }, "quotas.live.anchor_day"],
      [{ live: { limit: 10, period: "month", anchor_day: 32 } }, "quotas.live.anchor_day"],
      [{ live: { limit: 10, period: "day", anchor_day: 1 } }, "quotas.live.anchor_day"],
      [{ staging: { limit: 10, period: "day" } }, "quotas"],
    ];
    for (const [quotas, field] of cases) {
      await refused("POST", "/tenants", { name: "Bad plan", quotas }, field);
      await refused("PATCH", `/tenants/${tenant.id}`, { quotas }, field);
    }
    await refused("PATCH", `/tenants/${tenant.id}`, { status: "suspended", quotas: { live: { limit: 10, period: "day" } } }, "quotas");
    expect((await getTenantBody(tenant.id)).quotas).toEqual({ live: null, test: null });
  });

  it("on a verification: a negative cost", async () => {
    const key = await createKey();
    const { status, body } = await verifyOverHttp({ key: key.key, cost: -1 });
    expect(status).toBe(400);
    expect((body.error as unknown as { details: { fields: { field: string }[] } }).details.fields.map((f) => f.field)).toEqual(["cost"]);
    expect(await standing(key.key)).toEqual({ default: 60 });
  });
});
