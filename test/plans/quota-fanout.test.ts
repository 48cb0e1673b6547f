import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { quotaObject } from "../../src/authority/key";
import { FANOUT_BUDGET } from "../../src/guards/guard-client";
import { admin, createKey, createTenant } from "../support/client";
import { importKeys, json, storedGuard } from "../admin/support";
import { call, type TenantBody } from "./support";

// A quota change is written to every live key's object of the environment, FANOUT_BUDGET keys per
// call; a tenant with more gets 202 and each repeat of the same call continues where it stopped.

const patchQuotas = (tenantId: string, quotas: unknown) => admin("PATCH", `/tenants/${tenantId}`, { quotas });

async function quotaEvents(tenantId: string): Promise<number> {
  return (await env.DB.prepare("SELECT COUNT(*) AS n FROM audit_events WHERE resource_id = ? AND action = 'tenant.quotas_changed'").bind(tenantId).first<number>("n"))!;
}

describe(`a tenant with more than ${FANOUT_BUDGET} live keys`, { timeout: 180_000 }, () => {
  it("gets its quota in steps: 202 with fanout.pending, then each repeat continues; the other environment's keys are left alone", async () => {
    const tenant = await createTenant("Large plan");
    const imported = await importKeys(tenant.id, FANOUT_BUDGET + 20);
    const testKeys = await importKeys(tenant.id, 3, "test");
    const last = await createKey({ tenant_id: tenant.id }); // sorts after every imported key
    const live = { live: { limit: 1000, period: "day" } };

    const first = await json<TenantBody>(await patchQuotas(tenant.id, live), 202);
    expect(first).toMatchObject({ quotas: { live: { limit: 1000, period: "day" }, test: null }, fanout: { pending: true } });
    const object = quotaObject(tenant.id, "live");
    expect((await storedGuard(imported[FANOUT_BUDGET - 1]!))?.quota).toMatchObject({ object });
    expect(await storedGuard(imported[FANOUT_BUDGET]!)).toBeNull();
    // Not reached yet: the last key still spends from no quota.
    expect((await call(last.key)).headers.get("ratelimit-policy")).not.toContain("project");

    const second = await json<TenantBody>(await patchQuotas(tenant.id, live), 200);
    expect(second.fanout).toEqual({ pending: false });
    expect((await storedGuard(imported.at(-1)!))?.quota).toMatchObject({ object });
    expect((await call(last.key)).headers.get("ratelimit-policy")).toContain('"project";q=1000;w=86400');
    for (const id of testKeys) expect(await storedGuard(id)).toBeNull();
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM quota_fanouts WHERE tenant_id = ?").bind(tenant.id).first<number>("n")).toBe(0);
    // One change, recorded once, however many calls it took.
    expect(await quotaEvents(tenant.id)).toBe(1);
  });

  it("starts over when the quota changes again while a fan-out is pending", async () => {
    const tenant = await createTenant("Changing plan");
    const imported = await importKeys(tenant.id, FANOUT_BUDGET + 5);
    const last = await createKey({ tenant_id: tenant.id });

    await json(await patchQuotas(tenant.id, { live: { limit: 1000, period: "day" } }), 202);
    const version = (v: { quota?: { version: number } | null } | null) => v?.quota?.version;
    const firstVersion = version(await storedGuard(imported[0]!));
    const removed = await json<TenantBody>(await patchQuotas(tenant.id, { live: null }), 202);
    expect(removed).toMatchObject({ quotas: { live: null }, fanout: { pending: true } });
    // The keys the first change reached have lost the quota again.
    expect((await storedGuard(imported[0]!))?.quota).toBeNull();
    expect(firstVersion).toEqual(expect.any(Number));
    await json(await patchQuotas(tenant.id, { live: null }), 200);
    expect((await storedGuard(imported.at(-1)!))?.quota ?? null).toBeNull();
    expect((await call(last.key)).headers.get("ratelimit-policy")).toBe('"default";q=60;w=60');
    expect(await quotaEvents(tenant.id)).toBe(2);
  });
});
