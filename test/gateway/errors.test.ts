import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { systemClock } from "../../src/clock";
import { hashKey } from "../../src/keys/hash";
import { moveClockTo } from "../support/clock";
import { admin, createKey, createTenant, errorOf, gateway, uniqueIp } from "../support/client";
import { callWorker, echoOf, kvEntryFor, unknownKey } from "./helpers";

/** Every gateway error: its status, its code, the one envelope and the request id it shares. */

function challengeParts(header: string | null): string[] {
  return (header ?? "").split(/,\s*/);
}

describe("401 challenges", () => {
  it("missing_credentials offers Bearer and Basic realms in UTF-8, without an error attribute", async () => {
    const res = await gateway("/anything");
    const error = await errorOf(res);
    expect(error.status).toBe(401);
    expect(error.error.code).toBe("missing_credentials");
    const challenge = res.headers.get("www-authenticate");
    expect(challengeParts(challenge)).toEqual(expect.arrayContaining(['Bearer realm="keygate"', 'Basic realm="keygate"', 'charset="UTF-8"']));
    // RFC 6750 §3: no error code when the request carried no credentials at all.
    expect(challenge).not.toContain("error=");
  });

  it("invalid_key says invalid_token in the Bearer challenge and still offers Basic", async () => {
    const res = await gateway("/anything", { headers: { "x-api-key": unknownKey(), "cf-connecting-ip": uniqueIp() } });
    const error = await errorOf(res);
    expect(error.status).toBe(401);
    expect(error.error.code).toBe("invalid_key");
    const challenge = res.headers.get("www-authenticate")!;
    expect(challenge).toMatch(/^Bearer realm="keygate", error="invalid_token"/);
    expect(challenge).toContain('Basic realm="keygate"');
  });
});

describe("refusals of a key", () => {
  it("a malformed key, an unknown key and a deleted key all read invalid_key, alike", async () => {
    const ip = uniqueIp();
    const deleted = await createKey();
    expect((await admin("DELETE", `/keys/${deleted.id}`)).status).toBe(204);
    const messages = new Set<string>();
    for (const key of ["kg_live_nope", unknownKey(), deleted.key]) {
      const error = await errorOf(await gateway("/x", { headers: { "x-api-key": key, "cf-connecting-ip": ip } }));
      expect([error.status, error.error.code]).toEqual([401, "invalid_key"]);
      expect(error.error.details).toBeNull();
      messages.add(error.error.message);
    }
    // Nothing tells a prober whether a key ever existed.
    expect(messages.size).toBe(1);
  });

  it("revoked_key, expired_key and tenant_inactive are 401s with the invalid_token challenge", async () => {
    const ip = uniqueIp();
    const revoked = await createKey();
    expect((await admin("POST", `/keys/${revoked.id}/revoke`)).status).toBe(200);
    const expiring = await createKey({ expires_at: new Date(systemClock.now() + 60_000).toISOString() });
    const tenant = await createTenant("to suspend");
    const suspended = await createKey({ tenant_id: tenant.id });
    expect((await admin("PATCH", `/tenants/${tenant.id}`, { status: "suspended" })).status).toBe(200);
    moveClockTo(Date.parse(expiring.expires_at as string));

    for (const [key, code] of [[revoked.key, "revoked_key"], [expiring.key, "expired_key"], [suspended.key, "tenant_inactive"]] as const) {
      const res = await gateway("/x", { headers: { authorization: `Bearer ${key}`, "cf-connecting-ip": ip } });
      const error = await errorOf(res);
      expect([error.status, error.error.code]).toEqual([401, code]);
      expect(res.headers.get("www-authenticate")).toContain('error="invalid_token"');
    }
  });

  it("insufficient_permissions is a 403 naming the scope that was needed", async () => {
    const key = await createKey({ scopes: ["read"] });
    const res = await gateway("/things", { method: "POST", headers: { "x-api-key": key.key }, body: "{}" });
    const error = await errorOf(res);
    expect(error.status).toBe(403);
    expect(error.error.code).toBe("insufficient_permissions");
    expect(error.error.details).toEqual({ required_scope: "write" });
    expect(error.error.message).toContain('"write"');
    expect(res.headers.get("www-authenticate")).toContain('error="insufficient_scope"');
    expect(res.headers.get("www-authenticate")).toContain('scope="write"');
  });

  it("ambiguous_credentials is a 400", async () => {
    const error = await errorOf(await gateway("/x", { headers: { "x-api-key": unknownKey(), authorization: `Bearer ${unknownKey()}` } }));
    expect([error.status, error.error.code]).toEqual([400, "ambiguous_credentials"]);
  });
});

describe("the origin failing", () => {
  it("origin_unreachable: 502 when nothing listens at ORIGIN_URL", async () => {
    const key = await createKey();
    const res = await callWorker("/x", { headers: { "x-api-key": key.key } }, { ORIGIN_URL: "http://127.0.0.1:1" });
    const error = await errorOf(res);
    expect([error.status, error.error.code]).toEqual([502, "origin_unreachable"]);
    expect(JSON.stringify(error)).not.toContain("127.0.0.1");
  });

  it("origin_timeout: 504 once ORIGIN_TIMEOUT_MS passes without response headers", async () => {
    const key = await createKey();
    const started = Date.now();
    const error = await errorOf(await gateway("/__origin/slow?ms=4000", { headers: { "x-api-key": key.key } }));
    const waited = Date.now() - started;
    expect([error.status, error.error.code]).toEqual([504, "origin_timeout"]);
    // ORIGIN_TIMEOUT_MS is 1500 in the test bindings: the gateway gave up then, not when the origin answered.
    expect(waited).toBeGreaterThanOrEqual(1400);
    expect(waited).toBeLessThan(3500);
  });

  it("a response whose headers came in time streams to its end, however long past ORIGIN_TIMEOUT_MS", async () => {
    const key = await createKey();
    const res = await gateway("/__origin/slow-body?ms=2500", { headers: { "x-api-key": key.key } });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("first\nlast\n");
  });

  it("a slow origin that answers within ORIGIN_TIMEOUT_MS is served", async () => {
    const key = await createKey();
    const echo = await echoOf(await gateway("/__origin/slow?ms=300", { headers: { "x-api-key": key.key } }));
    expect(echo.path).toBe("/__origin/slow");
  });
});

describe("auth_unavailable: D1 failing fails closed", () => {
  it("answers 503 while the keys table is unreadable, caches no verdict, and recovers", async () => {
    const tenant = await createTenant("outage");
    const key = unknownKey(); // in no cache, so its lookup must reach D1
    const ip = uniqueIp();
    // A real D1 failure: the table the lookup reads is gone for the duration of the outage.
    await env.DB.exec("ALTER TABLE api_keys RENAME TO api_keys_outage");
    let during: Response;
    try {
      during = await callWorker("/x", { headers: { "x-api-key": key, "cf-connecting-ip": ip } });
    } finally {
      await env.DB.exec("ALTER TABLE api_keys_outage RENAME TO api_keys");
    }
    const error = await errorOf(during);
    expect([error.status, error.error.code]).toEqual([503, "auth_unavailable"]);
    expect(JSON.stringify(error)).not.toMatch(/api_keys|SQL|D1/i);
    // Failing closed must not be remembered as "unknown key".
    expect(await kvEntryFor(key)).toBeNull();

    // The key is issued now (as a row written straight to D1): the very next request finds it.
    const now = systemClock.now();
    await env.DB.prepare(
      `INSERT INTO api_keys (id, tenant_id, key_hash, display, environment, scopes, rate_limit, rate_window_seconds, created_at, updated_at)
       VALUES (?, ?, ?, 'kg_live_…', 'live', '["read"]', 10, 60, ?, ?)`,
    )
      .bind("key_outage0000000000001", tenant.id, await hashKey(key), now, now)
      .run();
    const echo = await echoOf(await callWorker("/x", { headers: { "x-api-key": key, "cf-connecting-ip": ip } }));
    expect(echo.headers["x-keygate-key-id"]).toBe("key_outage0000000000001");
  });
});

describe("auth_unavailable: KV unavailable fails closed", () => {
  it("answers 503 for a key it cannot look up when the KEYS_CACHE binding is missing", async () => {
    const error = await errorOf(await callWorker("/x", { headers: { "x-api-key": unknownKey(), "cf-connecting-ip": uniqueIp() } }, { KEYS_CACHE: undefined }));
    expect([error.status, error.error.code]).toEqual([503, "auth_unavailable"]);
  });
});

describe("configuration errors", () => {
  it.each([
    ["ROUTE_SCOPES that is not JSON", { ROUTE_SCOPES: "[{" }],
    ["ROUTE_SCOPES with a rule lacking a scope", { ROUTE_SCOPES: '[{"path":"/a"}]' }],
    ["ROUTE_SCOPES with a scope no key can hold", { ROUTE_SCOPES: '[{"path":"/a","scope":"Servers"}]' }],
    ["PUBLIC_PATHS with an entry that is no path", { PUBLIC_PATHS: "/health,status" }],
    ["an ORIGIN_URL that is not http(s)", { ORIGIN_URL: "ftp://127.0.0.1/" }],
    ["a KEY_PREFIX that keys cannot carry", { KEY_PREFIX: "Bad_Prefix" }],
    ["an ORIGIN_TIMEOUT_MS that is not a number", { ORIGIN_TIMEOUT_MS: "soon" }],
    ["a DEFAULT_RATE_LIMIT above the largest limit a key may have", { DEFAULT_RATE_LIMIT: "10000001" }],
    ["a DEFAULT_RATE_WINDOW_SECONDS longer than 31 days", { DEFAULT_RATE_WINDOW_SECONDS: String(31 * 86_400 + 1) }],
  ])("%s: 500 configuration_error naming the setting, with no key needed to see it", async (_, overrides) => {
    const error = await errorOf(await callWorker("/x", {}, overrides));
    expect([error.status, error.error.code]).toEqual([500, "configuration_error"]);
    expect(error.error.message).toContain(Object.keys(overrides)[0]);
  });

  it("no ORIGIN_URL at all: 500 configuration_error for an authenticated request", async () => {
    const key = await createKey();
    const error = await errorOf(await callWorker("/x", { headers: { "x-api-key": key.key } }, { ORIGIN_URL: undefined, ORIGIN_URL_TEST: undefined }));
    expect([error.status, error.error.code]).toEqual([500, "configuration_error"]);
    expect(error.error.message).toContain("ORIGIN_URL");
  });
});

describe("request ids", () => {
  it("every answer, success or error, carries x-request-id; the origin sees the same id", async () => {
    const key = await createKey();
    const ok = await gateway("/ids", { headers: { "x-api-key": key.key } });
    const id = ok.headers.get("x-request-id");
    expect(id).toMatch(/^req_[0-9A-Za-z]{20}$/);
    expect((await echoOf(ok)).headers["x-request-id"]).toBe(id);

    const ids = new Set([id]);
    for (const res of [await gateway("/ids"), await gateway("/ids", { headers: { "x-api-key": "nope" } })]) {
      const error = await errorOf(res); // asserts header === body.requestId
      expect(res.headers.get("content-type")).toMatch(/^application\/json/);
      expect(res.headers.get("cache-control")).toBe("no-store");
      ids.add(error.requestId);
    }
    expect(ids.size).toBe(3);
  });

});
