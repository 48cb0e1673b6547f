import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { curl, errorOf, localState, startDevOn, startHonoApiOn, type KeyView, type LocalState } from "./support.mjs";

/**
 * examples/hono-api exactly as its wrangler.toml runs it: `wrangler dev -c examples/hono-api/wrangler.toml
 * -c wrangler.toml`, the example on the port and keygate beside it, reached only through the
 * example's KEYGATE service binding. Keys are made beforehand by `npm run dev`'s start-up on the
 * same state, as an operator would make them with the admin API.
 */
describe("the hono-api example under wrangler dev, with keygate behind its service binding", () => {
  let state: LocalState;
  let api: { url: string; stop(): Promise<void>; logs(): string };
  let key: KeyView;
  let revoked: KeyView;

  beforeAll(async () => {
    state = await localState();
    const dev = await startDevOn(state);
    try {
      key = await dev.admin.createKey({ tenant_id: dev.tenant.id, rate_limit: { limit: 5, window_seconds: 3600 } });
      revoked = await dev.admin.createKey({ tenant_id: dev.tenant.id });
      await dev.admin.revokeKey(revoked.id);
    } finally {
      await dev.stop();
    }
    api = await startHonoApiOn(state);
  }, 240_000);

  afterAll(async () => {
    await api?.stop();
    await state?.remove();
  });

  it("a valid key in each style reaches the route, with the caller's identity and its window", async () => {
    const styles = [["-H", `x-api-key: ${key.key}`], ["-H", `authorization: Bearer ${key.key}`], ["-u", `${key.key}:`]];
    for (const [i, args] of styles.entries()) {
      const res = await curl(`${api.url}/api/whoami`, args);
      expect(res.status, res.text()).toBe(200);
      expect(JSON.parse(res.text())).toEqual({ keyId: key.id, tenantId: key.tenant_id, environment: "live", scopes: ["read", "write"] });
      expect(res.headers.get("x-ratelimit-remaining")).toBe(String(5 - i - 1));
    }
  });

  it("the key's exact window holds through the binding: the limit's next call is a 429 with Retry-After", async () => {
    for (const _ of [4, 5]) expect((await curl(`${api.url}/api/whoami`, ["-H", `x-api-key: ${key.key}`])).status).toBe(200);
    const refused = await curl(`${api.url}/api/whoami`, ["-H", `x-api-key: ${key.key}`]);
    expect(refused.status).toBe(429);
    expect(errorOf(refused).error.code).toBe("rate_limit_exceeded");
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(3000);
  });

  it("a revoked key, an unknown key and no key are refused as the gateway refuses them", async () => {
    const gone = await curl(`${api.url}/api/whoami`, ["-H", `x-api-key: ${revoked.key}`]);
    expect([gone.status, errorOf(gone).error.code]).toEqual([401, "revoked_key"]);
    const unknown = await curl(`${api.url}/api/whoami`, ["-H", "x-api-key: kg_live_notakey"]);
    expect([unknown.status, errorOf(unknown).error.code]).toEqual([401, "invalid_key"]);
    const none = await curl(`${api.url}/api/whoami`);
    expect([none.status, errorOf(none).error.code]).toEqual([401, "missing_credentials"]);
    expect(none.headers.get("www-authenticate")).toContain('realm="keygate"');
  });
});
