import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { keygate, type KeygateVariables } from "../../src/client/hono";
import { systemClock } from "../../src/clock";
import { keyEvents } from "../usage/support";
import { admin, createKey, errorOf, gateway, uniqueIp, withKey } from "../support/client";
import { honoApi, keygateBinding, verifyOverHttp } from "../support/verify";

/**
 * Verification without a proxy: over HTTP, over the service binding, and through the
 * `keygate/hono` middleware in the example app. Each is decided by the same key object as the
 * proxy, so they share one exact window and see a revocation on the very next call.
 */

type Transport = "proxy" | "http" | "binding" | "middleware";
const TRANSPORTS: Transport[] = ["proxy", "http", "binding", "middleware"];

/** One call with `key` over `transport`: "valid", or the code it was refused with. */
async function call(transport: Transport, key: string): Promise<string> {
  switch (transport) {
    case "proxy": {
      const res = await gateway("/items", withKey(key, uniqueIp()));
      if (res.status === 200) return void (await res.body?.cancel()), "valid";
      return (await errorOf(res)).error.code;
    }
    case "http":
      return (await verifyOverHttp({ key, method: "GET", path: "/items" })).body.code;
    case "binding":
      return (await keygateBinding.verify({ key, method: "GET", path: "/items" })).code;
    case "middleware": {
      const res = await honoApi("/api/whoami", key);
      if (res.status === 200) return void (await res.body?.cancel()), "valid";
      return (await errorOf(res)).error.code;
    }
  }
}

describe("one window, whichever way a key is checked", () => {
  it("admits exactly 60 of 90 calls mixed over the proxy, HTTP verify, the binding and the middleware", async () => {
    const key = await createKey();
    const outcomes: Record<string, number> = {};
    for (let i = 0; i < 90; i++) {
      const code = await call(TRANSPORTS[i % TRANSPORTS.length]!, key.key);
      outcomes[code] = (outcomes[code] ?? 0) + 1;
    }
    expect(outcomes).toEqual({ valid: 60, rate_limit_exceeded: 30 });
  });

  it.each(TRANSPORTS)("%s refuses a key revoked by the call before", async (transport) => {
    const key = await createKey();
    expect(await call(transport, key.key)).toBe("valid");
    expect((await admin("POST", `/keys/${key.id}/revoke`)).status).toBe(200);
    expect(await call(transport, key.key)).toBe("revoked_key");
  });

  it.each(TRANSPORTS)("%s says invalid_key for unknown, malformed and deleted keys alike", async (transport) => {
    const deleted = await createKey();
    expect((await admin("DELETE", `/keys/${deleted.id}`)).status).toBe(204);
    const unknown = (await createKey()).key.replace(/.{6}$/, "");
    for (const key of [deleted.key, "kg_live_notakey", `${unknown}AAAAAA`]) {
      expect(await call(transport, key)).toBe("invalid_key");
    }
  });
});

describe("what verify answers", () => {
  it("the key's identity and window for a valid key, nothing but the code for an invalid one", async () => {
    const key = await createKey({ scopes: ["read", "servers"] });
    const valid = await keygateBinding.verify({ key: key.key, method: "DELETE", path: "/servers/1" });
    expect(valid).toMatchObject({
      valid: true,
      code: "valid",
      key_id: key.id,
      tenant_id: key.tenant_id,
      environment: "live",
      scopes: ["read", "servers"],
      client_id: null,
      subject: null,
      missing_scopes: [],
      ratelimit: { limit: 60, remaining: 59, window_seconds: 60 },
      limits: [{ name: "default", limit: 60, remaining: 59, window_seconds: 60 }],
      retry_after: null,
    });
    expect(valid.ratelimit!.reset).toBeGreaterThan(systemClock.now());
    expect(valid.limits[0]!.reset).toBe(valid.ratelimit!.reset);
    expect(await keygateBinding.verify({ key: "kg_live_notakey" })).toEqual({
      valid: false,
      code: "invalid_key",
      key_id: null,
      tenant_id: null,
      environment: null,
      scopes: [],
      client_id: null,
      subject: null,
      missing_scopes: [],
      ratelimit: null,
      limits: [],
      retry_after: null,
    });
  });

  it("reads the path with every spelling the proxy reads, and adds the scopes asked for", async () => {
    const key = await createKey({ scopes: ["read", "write"] });
    for (const path of ["/servers/1", "/servers/1/", "/SERVERS/1", "/x/../servers/1", "/servers%2F1"]) {
      const result = await keygateBinding.verify({ key: key.key, method: "GET", path });
      expect(result, path).toMatchObject({ valid: false, code: "insufficient_permissions", missing_scopes: ["servers"] });
    }
    expect(await keygateBinding.verify({ key: key.key, scopes: ["billing"] })).toMatchObject({ code: "insufficient_permissions", missing_scopes: ["billing"] });
    expect(await keygateBinding.verify({ key: key.key, method: "POST", path: "/orders" })).toMatchObject({ valid: true });
  });

  it("a scope refusal keeps the window as it was; a 429 says when a slot frees", async () => {
    const key = await createKey({ rate_limit: { limit: 2, window_seconds: 60 } });
    expect((await keygateBinding.verify({ key: key.key, scopes: ["nope"] })).ratelimit!.remaining).toBe(2);
    await keygateBinding.verify({ key: key.key });
    await keygateBinding.verify({ key: key.key });
    const refused = await verifyOverHttp({ key: key.key });
    expect(refused.body).toMatchObject({ valid: false, code: "rate_limit_exceeded", ratelimit: { limit: 2, remaining: 0 } });
  });

  it("bad input over the binding: invalid_request naming the field, and nothing counted", async () => {
    const key = await createKey();
    const cases: [unknown, string][] = [
      [{}, "key"],
      [{ key: 42 }, "key"],
      [{ key: "k".repeat(10_000) }, "key"],
      [{ key: key.key, scopes: "read" }, "scopes"],
      [{ key: key.key, method: 5 }, "method"],
      [{ key: key.key, extra: true }, "extra"],
      [null, "input"],
    ];
    for (const [input, field] of cases) {
      const answer = await keygateBinding.verify(input);
      expect(answer, JSON.stringify(input)?.slice(0, 40)).toMatchObject({ valid: false, code: "invalid_request", key_id: null, ratelimit: null });
      expect(answer.message).toContain(field);
    }
    expect((await keygateBinding.verify({ key: key.key })).ratelimit!.remaining).toBe(59);
  });
});

describe("the keygate/hono middleware answers as the gateway does", () => {
  it("a 429 with the same envelope, status and rate-limit headers as the proxy's", async () => {
    const key = await createKey({ rate_limit: { limit: 1, window_seconds: 60 } });
    expect(await call("proxy", key.key)).toBe("valid");
    const proxied = await gateway("/items", withKey(key.key, uniqueIp()));
    const direct = await honoApi("/api/whoami", key.key);
    expect(direct.status).toBe(proxied.status);
    expect(direct.status).toBe(429);
    for (const name of ["x-ratelimit-limit", "x-ratelimit-remaining", "ratelimit-policy", "x-ratelimit-reset"]) {
      expect(direct.headers.get(name), name).toBe(proxied.headers.get(name));
    }
    expect(Number(direct.headers.get("retry-after"))).toBeGreaterThan(0);
    const [a, b] = [await errorOf(direct), await errorOf(proxied)];
    expect({ ...a.error, status: a.status }).toEqual({ ...b.error, status: b.status });
    expect(a.requestId).toMatch(/^req_/);
  });

  it("no key: 401 missing_credentials with the challenge; a route's own scope: 403 naming it", async () => {
    const missing = await honoApi("/api/whoami", null);
    expect((await errorOf(missing)).error.code).toBe("missing_credentials");
    expect(missing.status).toBe(401);
    expect(missing.headers.get("www-authenticate")).toContain("Bearer");
    const key = await createKey({ scopes: ["read", "write", "servers"] });
    const refused = await honoApi("/api/servers/7", key.key, { method: "DELETE" });
    expect(refused.status).toBe(403);
    expect((await errorOf(refused)).error.details).toEqual({ required_scope: "servers:delete" });
    const allowed = await createKey({ scopes: ["servers", "servers:delete", "write"] });
    const deleted = await honoApi("/api/servers/7", allowed.key, { method: "DELETE" });
    expect(await deleted.json()).toEqual({ deleted: "7", by: allowed.id });
    expect(deleted.headers.get("x-ratelimit-remaining")).toBe("59");
  });

  it("the key in Bearer and Basic styles too, with the caller's identity on the context", async () => {
    const key = await createKey();
    for (const authorization of [`Bearer ${key.key}`, `Basic ${btoa(`${key.key}:`)}`]) {
      const res = await honoApi("/api/whoami", null, { headers: { authorization } });
      expect(await res.json()).toEqual({ keyId: key.id, tenantId: key.tenant_id, environment: "live", scopes: ["read", "write"] });
    }
  });
});

describe("every way in reads a verification's path as the proxy reads a request's URL", () => {
  // vitest.config.ts rules: any method on /servers/* (which covers /servers itself) needs "servers".
  const TARGETS = ["/servers?format=csv", "/servers#top", "/servers?format=csv#top", "/servers/?a=b", "/servers/1?force=1", "/x/../servers?y=1", "/servers/./?q"];

  /** A customer's own Worker with keygate/hono on its /servers routes, over the real binding. */
  const customerApp = new Hono<{ Variables: KeygateVariables }>();
  customerApp.use("/servers/*", keygate({ binding: () => keygateBinding }));
  customerApp.use("/servers", keygate({ binding: () => keygateBinding }));
  customerApp.get("*", (c) => c.json(c.get("keygate")));

  /** "valid", or the code it was refused with, and the scopes it lacked. */
  async function over(way: string, key: string, target: string): Promise<[string, readonly string[]]> {
    const fromResponse = async (res: Response): Promise<[string, readonly string[]]> => {
      if (res.status === 200) return void (await res.body?.cancel()), ["valid", []];
      const { error } = await errorOf(res);
      const details = error.details as { required_scopes?: string[]; required_scope?: string } | null;
      return [error.code, details?.required_scopes ?? (details?.required_scope ? [details.required_scope] : [])];
    };
    switch (way) {
      case "proxy":
        return fromResponse(await gateway(target, withKey(key, uniqueIp())));
      case "HTTP verify": {
        const { body } = await verifyOverHttp({ key, method: "GET", path: target });
        return [body.code, body.missing_scopes];
      }
      case "binding": {
        const result = await keygateBinding.verify({ key, method: "GET", path: target });
        return [result.code, result.missing_scopes];
      }
      default:
        return fromResponse(await customerApp.request(`https://customer.example.com${target}`, { headers: { "x-api-key": key } }));
    }
  }

  it.each(["proxy", "HTTP verify", "binding", "keygate/hono"])("%s: a query or fragment does not lift an exact-path rule", async (way) => {
    const plain = await createKey({ scopes: ["read"] });
    const servers = await createKey({ scopes: ["read", "servers"] });
    for (const target of TARGETS) {
      expect(await over(way, plain.key, target), target).toEqual(["insufficient_permissions", ["servers"]]);
      expect(await over(way, servers.key, target), target).toEqual(["valid", []]);
    }
  });

  it("records the path it matched: no query, no fragment, dot segments resolved", async () => {
    const key = await createKey({ scopes: ["read", "servers"] });
    await verifyOverHttp({ key: key.key, method: "GET", path: "/x/../servers?format=csv#top" });
    await keygateBinding.verify({ key: key.key, path: "/servers/./1?secret=1" });
    expect((await keyEvents(key.id)).map((event) => event.path)).toEqual(["/servers/1", "/servers"]);
  });
});
