import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { FANOUT_BUDGET } from "../../src/guards/guard-client";
import { Guards } from "../../src/guards/guard-client";
import type { KeyPolicy } from "../../src/authority/key";
import { admin, createKey, createTenant, useKey } from "../support/client";

const DEFAULT_WINDOWS = [{ name: "default", limit: 60, windowSeconds: 60 }];
import { importKeys, json, storedGuard } from "./support";

/**
 * Suspending and reactivating a tenant: written to every live key's Durable Object, versioned so
 * racing changes end as the later one says, and in bounded steps for tenants with many keys.
 */

interface TenantUpdated {
  id: string;
  status: string;
  fanout?: { pending: boolean };
}

const patch = (id: string, body: unknown) => admin("PATCH", `/tenants/${id}`, body);


async function versionOf(tenantId: string): Promise<number> {
  return (await env.DB.prepare("SELECT updated_at FROM tenants WHERE id = ?").bind(tenantId).first<number>("updated_at"))!;
}

async function tenantEvents(tenantId: string): Promise<string[]> {
  const { results } = await env.DB.prepare("SELECT action FROM audit_events WHERE resource_id = ?").bind(tenantId).all<{ action: string }>();
  return results.map((row) => row.action).sort();
}

describe("status versions", () => {
  it("strictly increase, so a late write of an older status leaves the key's object with the newer one", async () => {
    const tenant = await createTenant("Versioned");
    const key = await createKey({ tenant_id: tenant.id });
    await json(await patch(tenant.id, { status: "suspended" }), 200);
    const suspendedAt = await versionOf(tenant.id);
    await json(await patch(tenant.id, { status: "active" }), 200);
    const reactivatedAt = await versionOf(tenant.id);
    expect(reactivatedAt).toBeGreaterThan(suspendedAt);
    expect((await storedGuard(key.id))?.tenantVersion).toBe(reactivatedAt);

    // The suspension's fan-out arriving late (a slow, concurrent PATCH) changes nothing.
    const policy: KeyPolicy = { status: "active", tenantActive: false, expiresAt: null, scopes: ["read", "write"], windows: DEFAULT_WINDOWS, credits: null, quota: null };
    await new Guards(env).writePolicy(key.id, { tenantActive: false }, policy, suspendedAt);
    expect(await useKey(key.key)).toBe("ok");
  });

  it("move on even for two changes within one millisecond", async () => {
    const tenant = await createTenant("Quick");
    // A clock that has not moved (or stepped back) still gives a higher version.
    await env.DB.prepare("UPDATE tenants SET updated_at = ? WHERE id = ?").bind(Date.now() + 60_000, tenant.id).run();
    const pinned = await versionOf(tenant.id);
    await json(await patch(tenant.id, { status: "suspended" }), 200);
    expect(await versionOf(tenant.id)).toBe(pinned + 1);
    await json(await patch(tenant.id, { status: "active" }), 200);
    expect(await versionOf(tenant.id)).toBe(pinned + 2);
  });

  it("travel with new keys: a key made for a suspended tenant is refused, its object holding the version", async () => {
    const tenant = await createTenant("Suspended first");
    await json(await patch(tenant.id, { status: "suspended" }), 200);
    const key = await createKey({ tenant_id: tenant.id });
    expect(await useKey(key.key)).toBe("tenant_inactive");
    expect((await storedGuard(key.id))?.tenantVersion).toBe(await versionOf(tenant.id));
  });
});

describe("repeating a status the tenant already has", () => {
  it("changes nothing in D1 nor the audit trail, and writes every key's object again (a repair)", async () => {
    const tenant = await createTenant("Repair");
    const key = await createKey({ tenant_id: tenant.id });
    await json(await patch(tenant.id, { status: "suspended" }), 200);
    const version = await versionOf(tenant.id);
    // The key's object missed the suspension (say it failed part-way).
    await env.KEY_GUARD.getByName(key.id).update({ tenantActive: true }, { status: "active", tenantActive: true, expiresAt: null, scopes: ["read", "write"], windows: DEFAULT_WINDOWS, credits: null, quota: null });
    expect(await useKey(key.key)).toBe("ok");

    const again = await json<TenantUpdated>(await patch(tenant.id, { status: "suspended" }), 200);
    expect(again).toMatchObject({ status: "suspended", fanout: { pending: false } });
    expect(await useKey(key.key)).toBe("tenant_inactive");
    expect(await versionOf(tenant.id)).toBe(version);
    expect(await tenantEvents(tenant.id)).toEqual(["tenant.created", "tenant.suspended"]);
  });
});

// Each test writes over a thousand keys' objects: seconds alone, far more on a busy shared machine.
describe(`a tenant with more than ${FANOUT_BUDGET} live keys`, { timeout: 180_000 }, () => {
  it("is written in steps: 202 with fanout.pending, keys not reached keep the old status, each repeat continues", async () => {
    const tenant = await createTenant("Large");
    const imported = await importKeys(tenant.id, FANOUT_BUDGET + 20);
    const last = await createKey({ tenant_id: tenant.id }); // sorts after every imported key

    const first = await json<TenantUpdated>(await patch(tenant.id, { status: "suspended" }), 202);
    expect(first).toMatchObject({ id: tenant.id, status: "suspended", fanout: { pending: true } });
    expect((await storedGuard(imported[FANOUT_BUDGET - 1]!))?.tenantActive).toBe(false);
    expect(await storedGuard(imported[FANOUT_BUDGET]!)).toBeNull();
    expect(await useKey(last.key)).toBe("ok");

    const second = await json<TenantUpdated>(await patch(tenant.id, { status: "suspended" }), 200);
    expect(second.fanout).toEqual({ pending: false });
    expect((await storedGuard(imported.at(-1)!))?.tenantActive).toBe(false);
    expect(await useKey(last.key)).toBe("tenant_inactive");
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM tenant_fanouts WHERE tenant_id = ?").bind(tenant.id).first<number>("n")).toBe(0);
    // One suspension, recorded once, however many calls it took.
    expect(await tenantEvents(tenant.id)).toEqual(["tenant.created", "tenant.suspended"]);
  });

  it("starts over when the status changes while a fan-out is pending", async () => {
    const tenant = await createTenant("Flip-flop");
    const imported = await importKeys(tenant.id, FANOUT_BUDGET + 5);
    const last = await createKey({ tenant_id: tenant.id });

    await json(await patch(tenant.id, { status: "suspended" }), 202);
    const reactivated = await json<TenantUpdated>(await patch(tenant.id, { status: "active" }), 202);
    expect(reactivated).toMatchObject({ status: "active", fanout: { pending: true } });
    // The keys the suspension reached are active again, under the newer version.
    const version = await versionOf(tenant.id);
    expect(await storedGuard(imported[0]!)).toMatchObject({ tenantActive: true, tenantVersion: version });
    await json(await patch(tenant.id, { status: "active" }), 200);
    expect(await storedGuard(imported.at(-1)!)).toMatchObject({ tenantActive: true, tenantVersion: version });
    expect(await useKey(last.key)).toBe("ok");
    expect(await tenantEvents(tenant.id)).toEqual(["tenant.created", "tenant.reactivated", "tenant.suspended"]);
  });
});
