import { env } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { hashKey } from "../../src/keys/hash";
import { createServices } from "../../src/services";
import type { KeyRecord } from "../../src/authority/key";
import { systemClock } from "../../src/clock";
import { moveClockTo } from "../support/clock";
import { admin, createKey, errorOf, gateway, originCounts, uniqueIp, withKey, type Created } from "../support/client";
import { writeThroughKeyGuard } from "./support";

// Every change below is followed at once by a request with the key, and then again after every
// cache tier (this isolate's memory and KV, the ones a request consults before D1) has been made
// to say "active" once more, as another isolate or edge location may still say it. The key's
// Durable Object alone must decide.

/** Several successful requests, so the isolate cache and KV `key:<hash>` both hold the key; returns that record. */
async function warm(key: Created, ip: string): Promise<KeyRecord> {
  for (let i = 0; i < 3; i++) {
    const res = await gateway("/warm", withKey(key.key, ip));
    expect(res.status).toBe(200);
    await res.body?.cancel();
  }
  const cached = await env.KEYS_CACHE.get<KeyRecord>(`key:${await hashKey(key.key)}`, "json");
  expect(cached).toMatchObject({ id: key.id, status: "active", tenantActive: true, expiresAt: null });
  return cached!;
}

/** Puts the stale "active" record back into every cache tier and checks the gateway's lookup now returns it. */
async function makeCachesStale(key: Created, stale: KeyRecord): Promise<void> {
  const hash = await hashKey(key.key);
  const services = createServices(env, createExecutionContext());
  await services.keys.cache(hash, stale);
  expect(await env.KEYS_CACHE.get(`key:${hash}`, "json")).toEqual(stale);
  expect(await services.keys.findByHash(hash)).toEqual(stale);
}

async function expectRefused(key: Created, ip: string, status: number, code: string): Promise<void> {
  const res = await gateway("/after", withKey(key.key, ip));
  expect(res.status).toBe(status);
  expect((await errorOf(res)).error.code).toBe(code);
}

describe("changes through the admin API hold from the very next request, whatever the caches say", () => {
  it("revoke: 401 revoked_key", async () => {
    const ip = uniqueIp();
    const key = await createKey();
    const stale = await warm(key, ip);

    expect((await admin("POST", `/keys/${key.id}/revoke`)).status).toBe(200);
    await expectRefused(key, ip, 401, "revoked_key");

    await makeCachesStale(key, stale);
    for (let i = 0; i < 3; i++) await expectRefused(key, ip, 401, "revoked_key");
    expect((await originCounts())[key.id]).toBe(3);
  });

  it("delete: 401 invalid_key", async () => {
    const ip = uniqueIp();
    const key = await createKey();
    const stale = await warm(key, ip);

    expect((await admin("DELETE", `/keys/${key.id}`)).status).toBe(204);
    await expectRefused(key, ip, 401, "invalid_key");

    await makeCachesStale(key, stale);
    for (let i = 0; i < 3; i++) await expectRefused(key, ip, 401, "invalid_key");
    expect((await originCounts())[key.id]).toBe(3);
  });

  it("tenant suspension: 401 tenant_inactive, and reactivation lets the key back in", async () => {
    const ip = uniqueIp();
    const key = await createKey();
    const stale = await warm(key, ip);

    expect((await admin("PATCH", `/tenants/${key.tenant_id}`, { status: "suspended" })).status).toBe(200);
    await expectRefused(key, ip, 401, "tenant_inactive");
    await makeCachesStale(key, stale);
    for (let i = 0; i < 3; i++) await expectRefused(key, ip, 401, "tenant_inactive");
    expect((await originCounts())[key.id]).toBe(3);

    // Unlike revocation, suspension can be undone, and the key's window carries on.
    expect((await admin("PATCH", `/tenants/${key.tenant_id}`, { status: "active" })).status).toBe(200);
    const back = await gateway("/back", withKey(key.key, ip));
    expect(back.status).toBe(200);
    expect(back.headers.get("x-ratelimit-remaining")).toBe("56");
    expect((await originCounts())[key.id]).toBe(4);
  });

  it("expiry moved into the past (written to the key's object directly: the admin API only accepts future times): 401 expired_key", async () => {
    const ip = uniqueIp();
    const key = await createKey();
    const stale = await warm(key, ip);

    await writeThroughKeyGuard(key, { expiresAt: systemClock.now() - 1_000 });
    await expectRefused(key, ip, 401, "expired_key");
    await makeCachesStale(key, stale);
    for (let i = 0; i < 3; i++) await expectRefused(key, ip, 401, "expired_key");
    expect((await originCounts())[key.id]).toBe(3);
  });

  it("expiry moved earlier through PATCH /keys/:id: 401 expired_key from the moment it passes", async () => {
    const ip = uniqueIp();
    const key = await createKey();
    const stale = await warm(key, ip);

    // Half a minute ahead: well inside the isolate cache's minute, so the stale record stays in it.
    const expiresAt = systemClock.now() + 30_000;
    const res = await admin("PATCH", `/keys/${key.id}`, { expires_at: new Date(expiresAt).toISOString() });
    expect(res.status).toBe(200);
    await makeCachesStale(key, stale);
    // Until then the key works (the caches, which know no expiry, are not what decides either way).
    const before = await gateway("/before", withKey(key.key, ip));
    expect(before.status).toBe(200);
    await before.body?.cancel();
    moveClockTo(expiresAt);
    await expectRefused(key, ip, 401, "expired_key");
    expect((await originCounts())[key.id]).toBe(4);
  });

  it("a revoked key stays revoked: the admin API cannot bring it back through its object", async () => {
    const ip = uniqueIp();
    const key = await createKey();
    const stale = await warm(key, ip);
    expect((await admin("POST", `/keys/${key.id}/revoke`)).status).toBe(200);

    // A late write carrying "active" (say, a tenant reactivation fanning out) must not undo it.
    await writeThroughKeyGuard(key, { status: "active", tenantActive: true });
    await makeCachesStale(key, stale);
    await expectRefused(key, ip, 401, "revoked_key");
  });
});
