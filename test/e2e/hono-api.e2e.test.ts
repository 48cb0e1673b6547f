import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  curl,
  DEV_BANNER,
  devArgs,
  errorOf,
  freePort,
  localState,
  readDevBanner,
  registryEnv,
  runNpm,
  devAdmin,
  type AdminClient,
  type DevBanner,
  type KeyView,
  type LocalState,
  type NpmRun,
} from "./support.mjs";

/**
 * examples/hono-api as a user runs it: `npm run dev` in one terminal, `npm run example:hono-api` in
 * another. The example runs alone; its KEYGATE service binding reaches the keygate npm run dev runs
 * through wrangler's local dev registry, so one state has one keygate: what the admin API changes
 * there, the example's routes see on the next call. The example is given only the state; it finds
 * that keygate (and its registry) from there.
 */
let state: LocalState;
let dev: NpmRun;
let banner: DevBanner;
let admin: AdminClient;
let example: NpmRun;
let api: string;

beforeAll(async () => {
  state = await localState();
  dev = runNpm("dev", devArgs(state, { port: await freePort(), originPort: await freePort() }), { env: registryEnv(state.registryPath) });
  banner = readDevBanner((await dev.waitFor(DEV_BANNER))[0]);
  admin = devAdmin(state, banner.url);
  example = runNpm("example:hono-api", ["--port", String(await freePort()), "--persist-to", state.persistTo]);
  api = (await example.waitFor(/hono-api is running on (\S+)/))[1]!;
}, 240_000);

afterAll(async () => {
  await example?.interrupt();
  await dev?.interrupt();
  await state?.remove();
});

const whoami = (key: string, args: string[] = []) => curl(`${api}/api/whoami`, ["-H", `x-api-key: ${key}`, ...args]);

describe("npm run example:hono-api beside npm run dev, on one state", () => {
  it("prints a call with the demo key that works as printed", async () => {
    const printed = (await example.waitFor(/curl -i (\S+) -H "x-api-key: (\S+)"/)).slice(1);
    expect(printed).toEqual([`${api}/api/whoami`, banner.key]);
    const res = await whoami(banner.key);
    expect(res.status, res.text()).toBe(200);
    expect(res.json()).toMatchObject({ keyId: banner.keyId, tenantId: banner.tenantId });
  });

  it("a valid key in each style reaches the route, with the caller's identity and its window", async () => {
    const key = await admin.createKey({ tenant_id: banner.tenantId, rate_limit: { limit: 5, window_seconds: 3600 } });
    const styles = [["-H", `x-api-key: ${key.key}`], ["-H", `authorization: Bearer ${key.key}`], ["-u", `${key.key}:`]];
    for (const [i, args] of styles.entries()) {
      const res = await curl(`${api}/api/whoami`, args);
      expect(res.status, res.text()).toBe(200);
      expect(res.json()).toEqual({ keyId: key.id, tenantId: key.tenant_id, environment: "live", scopes: ["read", "write"] });
      expect(res.headers.get("x-ratelimit-remaining")).toBe(String(5 - i - 1));
    }
  });

  it("one window for a key, whichever way it comes in: the gateway's calls and the example's count together, to a 429", async () => {
    const key = await admin.createKey({ tenant_id: banner.tenantId, rate_limit: { limit: 4, window_seconds: 3600 } });
    const gateway = (path: string) => curl(`${banner.url}${path}`, ["-H", `x-api-key: ${key.key}`]);
    const remaining = [await gateway("/hello"), await whoami(key.key), await gateway("/hello"), await whoami(key.key)].map((res) =>
      res.headers.get("x-ratelimit-remaining"),
    );
    expect(remaining).toEqual(["3", "2", "1", "0"]);
    const refused = await whoami(key.key);
    expect([refused.status, errorOf(refused).error.code]).toEqual([429, "rate_limit_exceeded"]);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(3000);
    expect((await gateway("/hello")).status).toBe(429);
  });

  it("a key revoked through keygate's admin API is refused by the example on the very next call", async () => {
    const key = await admin.createKey({ tenant_id: banner.tenantId });
    expect((await whoami(key.key)).status).toBe(200);
    await admin.revokeKey(key.id);
    const gone = await whoami(key.key);
    expect([gone.status, errorOf(gone).error.code]).toEqual([401, "revoked_key"]);
  });

  it("an unknown key and no key are refused as the gateway refuses them", async () => {
    const unknown = await whoami("kg_live_notakey");
    expect([unknown.status, errorOf(unknown).error.code]).toEqual([401, "invalid_key"]);
    const none = await curl(`${api}/api/whoami`);
    expect([none.status, errorOf(none).error.code]).toEqual([401, "missing_credentials"]);
    expect(none.headers.get("www-authenticate")).toContain('realm="keygate"');
  });
});

describe("npm run example:hono-api without keygate", () => {
  it("says plainly that keygate is not running and how to start it, and exits 2", async () => {
    const empty = await localState();
    try {
      const alone = runNpm("example:hono-api", ["--port", String(await freePort()), "--persist-to", empty.persistTo]);
      expect(await alone.exited).toBe(2);
      expect(alone.output()).toContain(`keygate is not running (no npm run dev on ${empty.persistTo})`);
      expect(alone.output()).toContain("Start it first with `npm run dev` in another terminal");
      expect(alone.output()).not.toContain("hono-api is running");
    } finally {
      await empty.remove();
    }
  });
});
