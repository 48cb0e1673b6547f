import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { systemClock } from "../../src/clock";
import { moveClockTo } from "../support/clock";
import { admin, createKey, createTenant, errorOf, gateway, uniqueIp, withKey } from "../support/client";
import { asKey, expectError, json, rawAdmin, storedState, type KeyBody, type List } from "./support";

const MANAGER_SCOPES = ["keys:manage", "read", "write"];

describe("a tenant's own key with keys:manage", () => {
  it("creates, lists, gets, rotates and revokes its tenant's keys", async () => {
    const manager = await createKey({ scopes: MANAGER_SCOPES });
    const neighbour = await createKey({ name: "someone else's" });

    const created = await json<KeyBody>(await asKey(manager.key, "POST", "/keys", { tenant_id: manager.tenant_id, scopes: ["read"], name: "ci" }), 201);
    expect(created).toMatchObject({ tenant_id: manager.tenant_id, scopes: ["read"], status: "active" });
    expect((await gateway("/items", withKey(created.key!, uniqueIp()))).status).toBe(200);

    const listed = await json<List<KeyBody>>(await asKey(manager.key, "GET", "/keys?limit=100"), 200);
    expect(listed.data.map((k) => k.id).sort()).toEqual([manager.id, created.id].sort());
    expect(listed.data.map((k) => k.id)).not.toContain(neighbour.id);
    expect(JSON.stringify(listed)).not.toContain(created.key);

    expect((await json<KeyBody>(await asKey(manager.key, "GET", `/keys/${created.id}`), 200)).id).toBe(created.id);

    const rotated = await json<KeyBody>(await asKey(manager.key, "POST", `/keys/${created.id}/rotate`, { grace_seconds: 0 }), 201);
    expect(rotated.rotated_from).toBe(created.id);
    expect((await errorOf(await gateway("/items", withKey(created.key!, uniqueIp())))).error.code).toBe("expired_key");

    const revoked = await json<KeyBody>(await asKey(manager.key, "POST", `/keys/${rotated.id}/revoke`), 200);
    expect(revoked.status).toBe("revoked");
    expect((await errorOf(await gateway("/items", withKey(rotated.key!, uniqueIp())))).error.code).toBe("revoked_key");
  });

  it("is named in the audit trail as the key that acted", async () => {
    const manager = await createKey({ scopes: MANAGER_SCOPES });
    const res = await asKey(manager.key, "POST", "/keys", { tenant_id: manager.tenant_id, scopes: ["read"] });
    const created = await json<KeyBody>(res, 201);
    const event = await env.DB.prepare("SELECT * FROM audit_events WHERE request_id = ?").bind(res.headers.get("x-request-id")).first();
    expect(event).toMatchObject({ action: "key.created", actor_type: "key", actor_id: manager.id, resource_id: created.id, tenant_id: manager.tenant_id });
  });

  it("works in every credential style the gateway accepts", async () => {
    const manager = await createKey({ scopes: ["keys:manage"] });
    const ip = uniqueIp();
    for (const authorization of [`Bearer ${manager.key}`, `Basic ${btoa(`${manager.key}:`)}`]) {
      const res = await rawAdmin("GET", "/keys", { headers: { authorization, "cf-connecting-ip": ip } });
      expect(res.status, authorization.split(" ")[0]).toBe(200);
    }
  });

  it("is held to the key's own rate limit, with the rate-limit headers", async () => {
    const manager = await createKey({ scopes: ["keys:manage"], rate_limit: { limit: 2, window_seconds: 60 } });
    const first = await asKey(manager.key, "GET", "/keys");
    expect(first.status).toBe(200);
    expect(first.headers.get("x-ratelimit-limit")).toBe("2");
    expect(first.headers.get("x-ratelimit-remaining")).toBe("1");
    expect((await asKey(manager.key, "GET", "/keys")).status).toBe(200);
    const limited = await asKey(manager.key, "GET", "/keys");
    await expectError(limited, 429, "rate_limit_exceeded");
    expect(limited.headers.get("retry-after")).toBeTruthy();
  });
});

describe("keys that may not self-serve", () => {
  it("refuses a key without keys:manage with 403, naming the scope", async () => {
    const plain = await createKey({ scopes: ["read", "write"] });
    const error = await expectError(await asKey(plain.key, "GET", "/keys"), 403, "insufficient_permissions");
    expect(error.error.details).toEqual({ required_scope: "keys:manage" });
    await expectError(await asKey(plain.key, "POST", "/keys", { tenant_id: plain.tenant_id }), 403, "insufficient_permissions");
  });

  it("refuses revoked, deleted, expired and unknown keys, and keys of a suspended tenant, as the gateway does", async () => {
    const revoked = await createKey({ scopes: ["keys:manage"] });
    await json(await admin("POST", `/keys/${revoked.id}/revoke`), 200);
    await expectError(await asKey(revoked.key, "GET", "/keys"), 401, "revoked_key");

    const deleted = await createKey({ scopes: ["keys:manage"] });
    expect((await admin("DELETE", `/keys/${deleted.id}`)).status).toBe(204);
    await expectError(await asKey(deleted.key, "GET", "/keys"), 401, "invalid_key");

    const expiring = await createKey({ scopes: ["keys:manage"], expires_at: new Date(systemClock.now() + 60_000).toISOString() });
    moveClockTo(Date.parse(expiring.expires_at as string));
    await expectError(await asKey(expiring.key, "GET", "/keys"), 401, "expired_key");

    const suspendedTenant = await createTenant("Suspended");
    const suspended = await createKey({ tenant_id: suspendedTenant.id, scopes: ["keys:manage"] });
    await json(await admin("PATCH", `/tenants/${suspendedTenant.id}`, { status: "suspended" }), 200);
    await expectError(await asKey(suspended.key, "GET", "/keys"), 401, "tenant_inactive");

    await expectError(await asKey("kg_live_notARealKeyAtAllxxxxxxxxxxxx", "GET", "/keys"), 401, "invalid_key");
  });
});

describe("a tenant's key hands out keys no stronger than itself", () => {
  const inAnHour = () => new Date(systemClock.now() + 3_600_000).toISOString();

  it("issues keys of its own environment only; an omitted environment is its own", async () => {
    const manager = await createKey({ scopes: MANAGER_SCOPES, environment: "test" });
    const made = await json<KeyBody>(await asKey(manager.key, "POST", "/keys", { tenant_id: manager.tenant_id, scopes: ["read"] }), 201);
    expect(made.environment).toBe("test");
    expect(made.key).toMatch(/^kg_test_/);
    const before = await storedState();
    const refused = await expectError(await asKey(manager.key, "POST", "/keys", { tenant_id: manager.tenant_id, environment: "live" }), 403, "insufficient_permissions");
    expect(refused.error.details).toMatchObject({ field: "environment", allowed: "test" });
    expect(await storedState()).toEqual(before);
    // An admin's key without an environment is live, as before.
    expect((await createKey({ tenant_id: manager.tenant_id })).environment).toBe("live");
  });

  it("cannot see or touch its tenant's keys of the other environment: 404 as for unknown ids, and lists leave them out", async () => {
    const manager = await createKey({ scopes: MANAGER_SCOPES, environment: "test" });
    const live = await createKey({ tenant_id: manager.tenant_id, environment: "live", scopes: ["read"] });
    const sibling = await createKey({ tenant_id: manager.tenant_id, environment: "test", scopes: ["read"] });
    const before = await storedState();
    for (const [method, path, body] of [
      ["GET", `/keys/${live.id}`, undefined],
      ["GET", `/keys/${live.id}/usage`, undefined],
      ["POST", `/keys/${live.id}/rotate`, { grace_seconds: 60 }],
      ["POST", `/keys/${live.id}/revoke`, undefined],
    ] as [string, string, unknown][]) {
      await expectError(await asKey(manager.key, method, path, body), 404, "not_found");
    }
    expect(await storedState()).toEqual(before);
    expect((await gateway("/items", withKey(live.key, uniqueIp()))).status).toBe(200);

    const listed = await json<List<KeyBody>>(await asKey(manager.key, "GET", "/keys?limit=100"), 200);
    expect(listed.data.map((k) => k.id).sort()).toEqual([manager.id, sibling.id].sort());
    expect((await json<List<KeyBody>>(await asKey(manager.key, "GET", "/keys?environment=live"), 200)).data).toEqual([]);
  });

  it("issues keys that expire no later than itself; omitted, the new key expires with it", async () => {
    const expiresAt = inAnHour();
    const manager = await createKey({ scopes: MANAGER_SCOPES, expires_at: expiresAt });
    const inherited = await json<KeyBody>(await asKey(manager.key, "POST", "/keys", { tenant_id: manager.tenant_id, scopes: ["read"] }), 201);
    expect(inherited.expires_at).toBe(expiresAt);
    const earlier = new Date(Date.parse(expiresAt) - 60_000).toISOString();
    expect((await json<KeyBody>(await asKey(manager.key, "POST", "/keys", { tenant_id: manager.tenant_id, scopes: ["read"], expires_at: earlier }), 201)).expires_at).toBe(earlier);

    const before = await storedState();
    const later = new Date(Date.parse(expiresAt) + 1000).toISOString();
    for (const expires_at of [later, null]) {
      const refused = await expectError(await asKey(manager.key, "POST", "/keys", { tenant_id: manager.tenant_id, scopes: ["read"], expires_at }), 403, "insufficient_permissions");
      expect(refused.error.details).toMatchObject({ field: "expires_at", latest: expiresAt });
    }
    expect(await storedState()).toEqual(before);
  });

  it("issues keys whose rate limit is no higher than its own, in burst or in rate; omitted, its own", async () => {
    const manager = await createKey({ scopes: MANAGER_SCOPES, rate_limit: { limit: 10, window_seconds: 60 } });
    const create = (rate_limit?: { limit: number; window_seconds: number }) =>
      asKey(manager.key, "POST", "/keys", { tenant_id: manager.tenant_id, scopes: ["read"], ...(rate_limit ? { rate_limit } : {}) });
    expect((await json<KeyBody>(await create(), 201)).rate_limit).toEqual({ limit: 10, window_seconds: 60 });
    expect((await json<KeyBody>(await create({ limit: 5, window_seconds: 60 }), 201)).rate_limit).toEqual({ limit: 5, window_seconds: 60 });
    // 1 per 6 seconds is exactly its rate, with a smaller burst.
    await json(await create({ limit: 1, window_seconds: 6 }), 201);

    const before = await storedState();
    for (const rate_limit of [
      { limit: 11, window_seconds: 60 }, // a bigger burst
      { limit: 20, window_seconds: 120 }, // the same rate, a bigger burst
      { limit: 10, window_seconds: 30 }, // a faster rate
      { limit: 2, window_seconds: 6 }, // a faster rate, a smaller burst
    ]) {
      const refused = await expectError(await create(rate_limit), 403, "insufficient_permissions");
      expect(refused.error.details, JSON.stringify(rate_limit)).toMatchObject({ field: "rate_limits", highest: { name: "default", limit: 10, window_seconds: 60 } });
    }
    expect(await storedState()).toEqual(before);
  });

  it("cannot rotate a key that outlives it or outpaces it (its successor would), but may rotate itself", async () => {
    const manager = await createKey({ scopes: MANAGER_SCOPES, expires_at: inAnHour(), rate_limit: { limit: 10, window_seconds: 60 } });
    const forever = await createKey({ tenant_id: manager.tenant_id, scopes: ["read"], rate_limit: { limit: 10, window_seconds: 60 } });
    const faster = await createKey({ tenant_id: manager.tenant_id, scopes: ["read"], expires_at: manager.expires_at, rate_limit: { limit: 100, window_seconds: 60 } });
    const before = await storedState();
    await expectError(await asKey(manager.key, "POST", `/keys/${forever.id}/rotate`, {}), 403, "insufficient_permissions");
    await expectError(await asKey(manager.key, "POST", `/keys/${faster.id}/rotate`, {}), 403, "insufficient_permissions");
    expect(await storedState()).toEqual(before);
    for (const key of [forever, faster]) expect((await gateway("/items", withKey(key.key, uniqueIp()))).status).toBe(200);

    const successor = await json<KeyBody>(await asKey(manager.key, "POST", `/keys/${manager.id}/rotate`, { grace_seconds: 60 }), 201);
    expect(successor).toMatchObject({ rotated_from: manager.id, expires_at: manager.expires_at, rate_limit: { limit: 10, window_seconds: 60 } });
  });
});
