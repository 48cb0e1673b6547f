import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { systemClock } from "../../src/clock";
import { hashKey } from "../../src/keys/hash";
import { moveClockTo } from "../support/clock";
import { admin, createKey, createTenant, errorOf, gateway, uniqueIp, withKey } from "../support/client";
import { expectError, failingFields, json, storedState, type KeyBody, type List } from "./support";

const inMs = (ms: number) => new Date(systemClock.now() + ms).toISOString();

async function listAll(query: string, limit = 100): Promise<KeyBody[]> {
  const out: KeyBody[] = [];
  let cursor: string | null = null;
  do {
    const page: List<KeyBody> = await json<List<KeyBody>>(await admin("GET", `/keys?${query}&limit=${limit}${cursor ? `&cursor=${cursor}` : ""}`), 200);
    out.push(...page.data);
    cursor = page.next_cursor;
  } while (cursor);
  return out;
}

describe("GET /keys", () => {
  it("filters by tenant, environment and status (active, expired, revoked, deleted), never showing a key", async () => {
    const tenant = await createTenant("Filters");
    const live = await createKey({ tenant_id: tenant.id, name: "live" });
    const test = await createKey({ tenant_id: tenant.id, name: "test", environment: "test" });
    const revoked = await createKey({ tenant_id: tenant.id, name: "revoked" });
    const deleted = await createKey({ tenant_id: tenant.id, name: "deleted" });
    const expiring = await createKey({ tenant_id: tenant.id, name: "expired", expires_at: inMs(60_000) });
    const elsewhere = await createKey({ name: "other tenant" });
    await json(await admin("POST", `/keys/${revoked.id}/revoke`), 200);
    expect((await admin("DELETE", `/keys/${deleted.id}`)).status).toBe(204);
    moveClockTo(Date.parse(expiring.expires_at as string));

    const ids = async (query: string) => (await listAll(`tenant_id=${tenant.id}${query}`)).map((k) => k.id).sort();
    expect(await ids("")).toEqual([live.id, test.id, revoked.id, expiring.id].sort());
    expect(await ids("&status=active")).toEqual([live.id, test.id].sort());
    expect(await ids("&status=expired")).toEqual([expiring.id]);
    expect(await ids("&status=revoked")).toEqual([revoked.id]);
    expect(await ids("&status=deleted")).toEqual([deleted.id]);
    expect(await ids("&environment=test")).toEqual([test.id]);
    expect(await ids("&environment=live&status=active")).toEqual([live.id]);

    const everything = await listAll("status=active");
    expect(everything.map((k) => k.id)).toContain(elsewhere.id);
    const listed = await listAll(`tenant_id=${tenant.id}`);
    const text = JSON.stringify(listed);
    for (const key of [live, test, revoked, expiring]) expect(text).not.toContain(key.key);
    for (const k of listed) {
      expect(k.key).toBeUndefined();
      expect(k.display).toMatch(/^kg_(live|test)_[0-9A-Za-z]{4}…[0-9A-Za-z]{4}$/);
      expect(k).not.toHaveProperty("key_hash");
    }
    expect(listed.find((k) => k.id === expiring.id)!.status).toBe("expired");
  });

  it("pages through a tenant's keys with an opaque cursor, each key once", async () => {
    const tenant = await createTenant("Paging");
    const made = new Set<string>();
    for (let i = 0; i < 5; i++) made.add((await createKey({ tenant_id: tenant.id })).id);
    const first = await json<List<KeyBody>>(await admin("GET", `/keys?tenant_id=${tenant.id}&limit=2`), 200);
    expect(first.data).toHaveLength(2);
    expect(first.has_more).toBe(true);
    expect(first.next_cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    const all = await listAll(`tenant_id=${tenant.id}`, 2);
    expect(all.map((k) => k.id).sort()).toEqual([...made].sort());
  });

  it("refuses bad filters with the parameter named", async () => {
    expect(await failingFields(await admin("GET", "/keys?status=paused"))).toEqual(["status"]);
    expect(await failingFields(await admin("GET", "/keys?environment=prod"))).toEqual(["environment"]);
    expect(await failingFields(await admin("GET", "/keys?tenant_id=1%20OR%201%3D1"))).toEqual(["tenant_id"]);
    expect(await failingFields(await admin("GET", "/keys?limit=-1"))).toEqual(["limit"]);
    expect(await failingFields(await admin("GET", "/keys?name=x"))).toEqual(["query"]);
  });
});

describe("GET /keys/:id", () => {
  it("returns the key without its plaintext; 404 unknown, 400 malformed", async () => {
    const key = await createKey({ name: "one" });
    const got = await json<KeyBody>(await admin("GET", `/keys/${key.id}`), 200);
    expect(got).toMatchObject({ id: key.id, name: "one", status: "active", display: key.display });
    expect(JSON.stringify(got)).not.toContain(key.key);
    await expectError(await admin("GET", "/keys/key_00000000000000000000"), 404, "not_found");
    expect(await failingFields(await admin("GET", "/keys/ten_123"))).toEqual(["id"]);
  });
});

describe("PATCH /keys/:id", () => {
  it("changes name, description, scopes, expiry and rate limit, and records who did it", async () => {
    const key = await createKey({ name: "old", description: "old description" });
    const res = await admin("PATCH", `/keys/${key.id}`, {
      name: "new",
      description: null,
      scopes: ["read", "write:servers"],
      expires_at: inMs(86_400_000),
      rate_limit: { limit: 5, window_seconds: 10 },
    });
    const requestId = res.headers.get("x-request-id");
    const body = await json<KeyBody>(res, 200);
    expect(body).toMatchObject({ name: "new", description: null, scopes: ["read", "write:servers"], rate_limit: { limit: 5, window_seconds: 10 }, status: "active" });
    expect(Date.parse(body.expires_at!)).toBeGreaterThan(systemClock.now() + 86_000_000);
    expect(await json<KeyBody>(await admin("GET", `/keys/${key.id}`), 200)).toEqual(body);
    const event = await env.DB.prepare("SELECT * FROM audit_events WHERE request_id = ?").bind(requestId).first<{ action: string; details: string }>();
    expect(event).toMatchObject({ action: "key.updated", actor_type: "root", resource_id: key.id, tenant_id: key.tenant_id });
    expect(JSON.parse(event!.details).changes).toMatchObject({ name: "new", description: null, scopes: ["read", "write:servers"] });
    // Only what is sent changes; null clears the expiry.
    const cleared = await json<KeyBody>(await admin("PATCH", `/keys/${key.id}`, { expires_at: null }), 200);
    expect(cleared).toMatchObject({ name: "new", expires_at: null, scopes: ["read", "write:servers"] });
  });

  it("takes effect on the very next gateway request: scopes, rate limit, expiry", async () => {
    const key = await createKey({ scopes: ["read", "write"] });
    const ip = uniqueIp();
    const get = () => gateway("/items", withKey(key.key, ip));
    expect((await get()).status).toBe(200);

    await json(await admin("PATCH", `/keys/${key.id}`, { scopes: ["write"] }), 200);
    const refused = await errorOf(await get());
    expect([refused.status, refused.error.code]).toEqual([403, "insufficient_permissions"]);
    await json(await admin("PATCH", `/keys/${key.id}`, { scopes: ["read"] }), 200);
    const echo = await get();
    expect(echo.status).toBe(200);
    expect(echo.headers.get("x-ratelimit-limit")).toBe("60");

    // Two requests are already in the window; a limit of 3 leaves exactly one.
    await json(await admin("PATCH", `/keys/${key.id}`, { rate_limit: { limit: 3, window_seconds: 60 } }), 200);
    const third = await get();
    expect(third.status).toBe(200);
    expect(third.headers.get("x-ratelimit-limit")).toBe("3");
    expect((await errorOf(await get())).error.code).toBe("rate_limit_exceeded");
    await json(await admin("PATCH", `/keys/${key.id}`, { rate_limit: { limit: 100, window_seconds: 60 } }), 200);

    const expiresAt = inMs(60_000);
    await json(await admin("PATCH", `/keys/${key.id}`, { expires_at: expiresAt }), 200);
    expect((await get()).status).toBe(200);
    moveClockTo(Date.parse(expiresAt));
    const expired = await errorOf(await get());
    expect([expired.status, expired.error.code]).toEqual([401, "expired_key"]);
    // An expired key is not final: moving its expiry brings it back.
    await json(await admin("PATCH", `/keys/${key.id}`, { expires_at: null }), 200);
    expect((await get()).status).toBe(200);
  });

  it("drops the edge's cached copy so it is refilled with the new settings", async () => {
    const key = await createKey({ scopes: ["read"] });
    const ip = uniqueIp();
    expect((await gateway("/items", withKey(key.key, ip))).status).toBe(200);
    await json(await admin("PATCH", `/keys/${key.id}`, { scopes: ["read", "write"] }), 200);
    const cached = await env.KEYS_CACHE.get<{ scopes: string[] }>(`key:${await hashKey(key.key)}`, "json");
    expect(cached === null || cached.scopes.includes("write")).toBe(true);
  });

  it("refuses revoked and deleted keys with 409, and changes nothing", async () => {
    const revoked = await createKey();
    const deleted = await createKey();
    await json(await admin("POST", `/keys/${revoked.id}/revoke`), 200);
    expect((await admin("DELETE", `/keys/${deleted.id}`)).status).toBe(204);
    const before = await storedState();
    await expectError(await admin("PATCH", `/keys/${revoked.id}`, { scopes: ["*"] }), 409, "conflict");
    await expectError(await admin("PATCH", `/keys/${deleted.id}`, { name: "revived?" }), 409, "conflict");
    await expectError(await admin("PATCH", "/keys/key_00000000000000000000", { name: "ghost" }), 404, "not_found");
    expect(await storedState()).toEqual(before);
    const res = await gateway("/items", withKey(revoked.key, uniqueIp()));
    expect((await errorOf(res)).error.code).toBe("revoked_key");
  });

  it("refuses bad input with the failing fields named, and changes nothing", async () => {
    const key = await createKey();
    const before = await storedState();
    const patch = async (body: unknown) => failingFields(await admin("PATCH", `/keys/${key.id}`, body));
    expect(await patch({})).toEqual(["body"]);
    expect(await patch({ status: "active" })).toEqual(["body"]);
    expect(await patch({ name: 5 })).toEqual(["name"]);
    expect(await patch({ scopes: "read" })).toEqual(["scopes"]);
    expect(await patch({ scopes: ["read", "DROP TABLE"] })).toEqual(["scopes.1"]);
    expect(await patch({ expires_at: "2001-01-01T00:00:00Z" })).toEqual(["expires_at"]);
    expect(await patch({ expires_at: "tomorrow" })).toEqual(["expires_at"]);
    expect(await patch({ rate_limit: { limit: 0, window_seconds: 60 } })).toEqual(["rate_limit.limit"]);
    expect(await patch({ rate_limit: { limit: 10, window_seconds: 60, burst: 5 } })).toEqual(["rate_limit"]);
    expect(await patch({ rate_limit: { limit: 10 } })).toEqual(["rate_limit.window_seconds"]);
    expect(await storedState()).toEqual(before);
  });
});

describe("DELETE /keys/:id", () => {
  it("deletes at once (the next request is invalid_key) and hides the key from default lists", async () => {
    const key = await createKey();
    expect((await gateway("/items", withKey(key.key, uniqueIp()))).status).toBe(200);
    expect((await admin("DELETE", `/keys/${key.id}`)).status).toBe(204);
    expect((await errorOf(await gateway("/items", withKey(key.key, uniqueIp())))).error.code).toBe("invalid_key");
    expect((await json<KeyBody>(await admin("GET", `/keys/${key.id}`), 200)).status).toBe("deleted");
    expect((await listAll(`tenant_id=${key.tenant_id}`)).map((k) => k.id)).not.toContain(key.id);
  });
});
