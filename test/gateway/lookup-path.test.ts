import { env } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { systemClock } from "../../src/clock";
import { crc32 } from "../../src/keys/crc32";
import { IsolateState } from "../../src/isolate";
import { hashKey } from "../../src/keys/hash";
import { createServices } from "../../src/services";
import { base62Fixed } from "../../src/keys/random";
import { moveClockTo } from "../support/clock";
import { admin, createKey, createTenant, errorOf, gateway, uniqueIp } from "../support/client";
import { callWorker, echoOf, kvEntryFor, NO_STORAGE, storedState, unknownKey } from "./helpers";

/** The key's life as the gateway sees it, and each tier of the lookup (isolate, KV, D1). */

const call = (key: string, ip = uniqueIp()) => gateway("/lookup", { headers: { "x-api-key": key, "cf-connecting-ip": ip } });

async function codeOf(res: Response): Promise<string> {
  const error = await errorOf(res);
  expect(error.status).toBe(401);
  return error.error.code;
}

/** Writes a key row straight into D1, as if issued by another isolate this one never heard from. */
async function insertRowFor(key: string, tenantId: string, id: string): Promise<void> {
  const now = systemClock.now();
  await env.DB.prepare(
    `INSERT INTO api_keys (id, tenant_id, key_hash, display, environment, scopes, rate_limit, rate_window_seconds, created_at, updated_at)
     VALUES (?, ?, ?, 'kg_live_…', 'live', '["read","write"]', 60, 60, ?, ?)`,
  )
    .bind(id, tenantId, await hashKey(key), now, now)
    .run();
}

/**
 * The key store as a brand-new isolate has it: its own empty isolate caches, the same
 * KV and D1.
 */
async function freshIsolateLookup() {
  const { keys } = createServices(env, createExecutionContext(), { isolate: new IsolateState() });
  return async (key: string) => keys.findByHash(await hashKey(key));
}

describe("a key's life", () => {
  it("revoked: 401 revoked_key from the next request on, and its edge cache entry is gone", async () => {
    const key = await createKey();
    expect((await call(key.key)).status).toBe(200);
    expect(await kvEntryFor(key.key)).toMatchObject({ id: key.id, status: "active" });
    expect((await admin("POST", `/keys/${key.id}/revoke`)).status).toBe(200);
    expect(await codeOf(await call(key.key))).toBe("revoked_key");
    expect(await codeOf(await call(key.key))).toBe("revoked_key");
    const cached = await kvEntryFor(key.key);
    expect(cached === null || (cached as { status: string }).status === "revoked").toBe(true);
  });

  it("deleted: 401 invalid_key, the same answer as a key that never existed", async () => {
    const key = await createKey();
    expect((await call(key.key)).status).toBe(200);
    expect((await admin("DELETE", `/keys/${key.id}`)).status).toBe(204);
    expect(await codeOf(await call(key.key))).toBe("invalid_key");
  });

  it("expired: served until expires_at, then 401 expired_key", async () => {
    const expiresAt = systemClock.now() + 30_000;
    const key = await createKey({ expires_at: new Date(expiresAt).toISOString() });
    expect((await call(key.key)).status).toBe(200);
    moveClockTo(expiresAt - 1_000);
    expect((await call(key.key)).status).toBe(200);
    moveClockTo(expiresAt);
    expect(await codeOf(await call(key.key))).toBe("expired_key");
  });

  it("suspended tenant: every key of it gets 401 tenant_inactive; reactivated, they work again; other tenants never notice", async () => {
    const tenant = await createTenant("suspend me");
    const [a, b] = [await createKey({ tenant_id: tenant.id }), await createKey({ tenant_id: tenant.id, environment: "test" })];
    const bystander = await createKey();
    for (const k of [a, b, bystander]) expect((await call(k.key)).status).toBe(200);

    expect((await admin("PATCH", `/tenants/${tenant.id}`, { status: "suspended" })).status).toBe(200);
    for (const k of [a, b]) expect(await codeOf(await call(k.key))).toBe("tenant_inactive");
    expect((await call(bystander.key)).status).toBe(200);

    expect((await admin("PATCH", `/tenants/${tenant.id}`, { status: "active" })).status).toBe(200);
    for (const k of [a, b]) expect((await echoOf(await call(k.key))).headers["x-keygate-key-id"]).toBe(k.id);
  });

  it("a key created for a tenant that is already suspended is refused until the tenant is reactivated", async () => {
    const tenant = await createTenant("suspended first");
    expect((await admin("PATCH", `/tenants/${tenant.id}`, { status: "suspended" })).status).toBe(200);
    const key = await createKey({ tenant_id: tenant.id });
    expect(await codeOf(await call(key.key))).toBe("tenant_inactive");
    expect((await admin("PATCH", `/tenants/${tenant.id}`, { status: "active" })).status).toBe(200);
    expect((await call(key.key)).status).toBe(200);
  });
});

describe("the format check comes before any I/O", () => {
  const malformed = {
    "a bad checksum": () => {
      const key = unknownKey();
      return key.slice(0, -1) + (key.endsWith("A") ? "B" : "A");
    },
    "a wrong prefix": () => unknownKey().replace(/^kg_/, "zz_"),
    "an unknown environment": () => unknownKey().replace("_live_", "_prod_"),
    "more than 256 characters (checksum correct)": () => {
      const unchecked = `kg_live_${"A".repeat(250)}`;
      return unchecked + base62Fixed(crc32(unchecked), 6);
    },
  };

  it.each(Object.keys(malformed))("%s: 401 invalid_key with every storage binding removed", async (name) => {
    const key = malformed[name as keyof typeof malformed]();
    // Any KV, D1 or Durable Object access would throw here and fail closed with a 5xx.
    const res = await callWorker("/x", { headers: { "x-api-key": key, "cf-connecting-ip": uniqueIp() } }, NO_STORAGE);
    expect(await codeOf(res)).toBe("invalid_key");
  });

  it.each(Object.keys(malformed))("%s: nothing is written to KV or D1", async (name) => {
    const key = malformed[name as keyof typeof malformed]();
    const before = await storedState();
    expect(await codeOf(await callWorker("/x", { headers: { authorization: `Bearer ${key}`, "cf-connecting-ip": uniqueIp() } }))).toBe("invalid_key");
    expect(await kvEntryFor(key)).toBeNull();
    expect(await storedState()).toEqual(before);
  });

  it("a well-formed key does reach storage (so the checks above can tell)", async () => {
    const res = await callWorker("/x", { headers: { "x-api-key": unknownKey(), "cf-connecting-ip": uniqueIp() } }, NO_STORAGE);
    const error = await errorOf(res);
    expect([error.status, error.error.code]).toEqual([503, "auth_unavailable"]);
  });
});

describe("the negative cache", () => {
  it("an unknown well-formed key is invalid_key and is then answered from the caches, not D1, for the negative TTL", async () => {
    const key = unknownKey();
    const ip = uniqueIp();
    expect(await codeOf(await callWorker("/x", { headers: { "x-api-key": key, "cf-connecting-ip": ip } }))).toBe("invalid_key");

    // The edge remembers the miss, for 60 seconds at most.
    const name = `key:${await hashKey(key)}`;
    expect(await env.KEYS_CACHE.get(name, "json")).toEqual({ unknown: true });
    const listed = (await env.KEYS_CACHE.list({ prefix: name })).keys[0];
    // KV expires entries on the platform's time, which moving keygate's clock does not move.
    expect(listed?.expiration).toBeGreaterThan(Date.now() / 1000);
    expect(listed!.expiration! - Date.now() / 1000).toBeLessThanOrEqual(61);

    // Now a row with that hash exists in D1. While the negative entries live, D1 is not asked:
    const tenant = await createTenant("negative cache");
    await insertRowFor(key, tenant.id, "key_negcache00000000001");
    // ... not by this isolate (its own negative cache) ...
    expect(await codeOf(await gateway("/x", { headers: { "x-api-key": key, "cf-connecting-ip": ip } }))).toBe("invalid_key");
    // ... nor by a fresh isolate, which finds the miss in KV ...
    expect(await (await freshIsolateLookup())(key)).toBeNull();
    // ... while a fresh isolate without the KV entry does reach D1 and finds the row.
    await env.KEYS_CACHE.delete(name);
    expect(await (await freshIsolateLookup())(key)).toMatchObject({ id: "key_negcache00000000001", status: "active" });
  });

  it("a known key is served from the caches while D1 is down", async () => {
    const key = await createKey();
    expect((await call(key.key)).status).toBe(200);
    await env.DB.exec("ALTER TABLE api_keys RENAME TO api_keys_down");
    try {
      expect((await echoOf(await call(key.key))).headers["x-keygate-key-id"]).toBe(key.id);
      // A fresh isolate has only KV to go on, and that is enough.
      expect(await (await freshIsolateLookup())(key.key)).toMatchObject({ id: key.id });
    } finally {
      await env.DB.exec("ALTER TABLE api_keys_down RENAME TO api_keys");
    }
  });
});
