import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { quotaObject } from "../../src/authority/key";
import { errorOf, gateway, uniqueIp } from "../support/client";
import { storedGuard } from "../admin/support";
import { authorizeAndExchange, registerClient } from "../oauth/support";
import { getKeyBody, planKey, setQuotas, tenantWithQuotas } from "./support";

// An app acting for a tenant's user spends the tenant's live quota, as the tenant's live keys do:
// a quota is "every request of the tenant", whichever credential made it.

async function callWith(token: string): Promise<string> {
  const res = await gateway("/items", { headers: { authorization: `Bearer ${token}`, "cf-connecting-ip": uniqueIp() } });
  if (res.status === 200) {
    await res.body?.cancel();
    return "ok";
  }
  return (await errorOf(res)).error.code;
}

describe("OAuth grants and the tenant's quota", () => {
  it("a grant's requests and the keys' share the live quota; a change reaches the grant before the call returns", async () => {
    const tenant = await tenantWithQuotas({ live: { limit: 4, period: "day" } }, "Grant quota");
    const key = await planKey({ tenant_id: tenant.id });
    const app = await registerClient({ scopes: ["read"] });
    const tokens = await authorizeAndExchange(app, { tenant_id: tenant.id, subject: "user_quota", scopes: ["read"] });

    expect(await callWith(tokens.access_token)).toBe("ok");
    expect(await callWith(tokens.access_token)).toBe("ok");
    expect(await callWith(key.key)).toBe("ok");
    expect(await callWith(key.key)).toBe("ok");
    // Four spent between them: neither gets a fifth.
    expect(await callWith(tokens.access_token)).toBe("quota_exceeded");
    expect(await callWith(key.key)).toBe("quota_exceeded");

    await setQuotas(tenant.id, { live: { limit: 5, period: "day" } });
    expect(await callWith(tokens.access_token)).toBe("ok");
    expect(await callWith(key.key)).toBe("quota_exceeded");

    // Removed: the grant's object is told too, and admits on its own window alone.
    await setQuotas(tenant.id, { live: null });
    expect((await storedGuard(tokens.grantId))?.quota).toBeNull();
    expect(await callWith(tokens.access_token)).toBe("ok");
  });

  it("a test quota leaves grants alone: they act on the live API", async () => {
    const tenant = await tenantWithQuotas({ test: { limit: 1, period: "day" } }, "Test quota only");
    const app = await registerClient({ scopes: ["read"] });
    const tokens = await authorizeAndExchange(app, { tenant_id: tenant.id, subject: "user_live", scopes: ["read"] });
    expect((await storedGuard(tokens.grantId))?.quota ?? null).toBeNull();
    expect([await callWith(tokens.access_token), await callWith(tokens.access_token)]).toEqual(["ok", "ok"]);
  });
});

describe("a key's object keeps the newer of two quota writes", () => {
  it("a reference older than the one it has, or an older removal, changes nothing", async () => {
    const tenant = await tenantWithQuotas({ live: { limit: 100, period: "day" } }, "Racing quotas");
    const created = await planKey({ tenant_id: tenant.id });
    const key = await getKeyBody(created.id);
    const stub = env.KEY_GUARD.getByName(key.id);
    const before = await storedGuard(key.id);
    const version = before!.quota!.version;
    const snapshot = { status: "active" as const, tenantActive: true, expiresAt: null, scopes: ["read", "write"], windows: [{ name: "default", limit: 60, windowSeconds: 60 }], credits: null, quota: before!.quota! };

    // A removal that happened before the reference it holds (a late fan-out) is ignored.
    await stub.update({ quota: null }, snapshot, version - 1);
    expect((await storedGuard(key.id))?.quota).toEqual({ object: quotaObject(tenant.id, "live"), version });
    // A newer one wins, and an older reference after it cannot bring the quota back.
    await stub.update({ quota: null }, snapshot, version + 1);
    expect((await storedGuard(key.id))?.quota).toBeNull();
    await stub.update({ quota: { object: quotaObject(tenant.id, "live"), version } }, snapshot, version);
    expect((await storedGuard(key.id))?.quota).toBeNull();
  });
});
