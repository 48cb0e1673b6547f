import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateKey } from "../../src/keys/format";
import { curl, errorOf, randomFile, startKeygate, type KeyView, type Keygate, type TenantView } from "./support.mjs";

// keygate as a user runs it: `wrangler dev` on local D1/KV/DO, a loopback origin, real curl.

const TEN_MB = 10 * 1024 * 1024;

const STYLES: Array<[string, (key: string) => string[]]> = [
  ["x-api-key", (key) => ["-H", `x-api-key: ${key}`]],
  ["Bearer", (key) => ["-H", `Authorization: Bearer ${key}`]],
  ["Basic (curl -u KEY:)", (key) => ["-u", `${key}:`]],
];

let kg: Keygate;
let tenant: TenantView;
let key: KeyView;

beforeAll(async () => {
  kg = await startKeygate();
  tenant = await kg.admin.createTenant("E2E gateway");
  key = await kg.admin.createKey({ tenant_id: tenant.id, name: "e2e" });
});

afterAll(async () => {
  await kg?.stop();
});

describe("wrangler dev + curl", () => {
  it.each(STYLES)("%s: the origin answers, sees who called, and never sees the key", async (_style, credential) => {
    const res = await curl(`${kg.url}/hello/world?x=1&y=two`, credential(key.key));

    expect(res.status).toBe(200);
    expect(res.headers.get("x-origin")).toBe("keygate-demo");
    expect(res.headers.get("x-request-id")).toMatch(/^req_/);
    expect(res.headers.get("x-ratelimit-limit")).toBe("60");
    const echo = res.json();
    expect(echo).toMatchObject({ method: "GET", path: "/hello/world", query: "?x=1&y=two" });
    expect(echo.headers).toMatchObject({
      "x-keygate-key-id": key.id,
      "x-keygate-tenant-id": tenant.id,
      "x-keygate-environment": "live",
      "x-request-id": res.headers.get("x-request-id"),
    });
    expect(echo.headers["x-keygate-signature"]).toMatch(/^v1=[0-9a-f]{64}$/);
    expect(echo.headers).not.toHaveProperty("x-api-key");
    expect(echo.headers).not.toHaveProperty("authorization");
    expect(JSON.stringify(echo)).not.toContain(key.key);
  });

  it("no key: 401 missing_credentials in the envelope, with challenges, and the origin never hears of it", async () => {
    const res = await curl(`${kg.url}/no-key-here`);

    expect(res.status).toBe(401);
    expect(errorOf(res).error.code).toBe("missing_credentials");
    const challenges = res.headers.get("www-authenticate") ?? "";
    expect(challenges).toMatch(/Bearer/);
    expect(challenges).toMatch(/Basic/);
    expect(await kg.originPaths()).not.toHaveProperty("/no-key-here");
  });

  it.each([
    ["a key with a broken checksum", () => `${key.key.slice(0, -1)}${key.key.endsWith("A") ? "B" : "A"}`],
    ["a well-formed key nobody issued", () => generateKey("kg", "live")],
  ])("wrong key (%s): 401 invalid_key in every style, origin untouched", async (_kind, wrongKey) => {
    for (const [, credential] of STYLES) {
      const res = await curl(`${kg.url}/wrong-key`, credential(wrongKey()));
      expect(res.status).toBe(401);
      expect(errorOf(res).error.code).toBe("invalid_key");
    }
    expect(await kg.originPaths()).not.toHaveProperty("/wrong-key");
  });

  it("a 10 MB upload arrives byte for byte at the origin", async () => {
    const file = await randomFile(kg.dir, TEN_MB);

    const res = await curl(`${kg.url}/upload`, [
      "-H", `x-api-key: ${key.key}`,
      "-H", "content-type: application/octet-stream",
      "--data-binary", `@${file.path}`,
    ]);

    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ method: "POST", path: "/upload", bodyLength: TEN_MB, bodySha256: file.sha256 });
  });

  it("a 10 MB download arrives byte for byte at the client", async () => {
    const res = await curl(`${kg.url}/__origin/download?bytes=${TEN_MB}`, ["-u", `${key.key}:`]);

    expect(res.status).toBe(200);
    expect(res.body.byteLength).toBe(TEN_MB);
    expect(res.headers.get("x-sha256")).toMatch(/^[0-9a-f]{64}$/);
    expect(res.sha256).toBe(res.headers.get("x-sha256"));
  });

  it("a revoked key gets 401 revoked_key on the very next request", async () => {
    const doomed = await kg.admin.createKey({ tenant_id: tenant.id, name: "doomed" });
    const auth = ["-H", `Authorization: Bearer ${doomed.key}`];
    expect((await curl(`${kg.url}/before-revoke`, auth)).status).toBe(200);

    await kg.admin.revokeKey(doomed.id);
    const res = await curl(`${kg.url}/after-revoke`, auth);

    expect(res.status).toBe(401);
    expect(errorOf(res).error.code).toBe("revoked_key");
    expect((await kg.originCounts())[doomed.id]).toBe(1);
  });
});

describe("what the origin is told, and what it tells the client (issue 8)", () => {
  it("an origin redirect to its own address brings curl -L back through keygate, key and all", async () => {
    const target = `${kg.originUrl}/after-redirect?x=1`;
    const res = await curl(`${kg.url}/__origin/respond?status=302&location=${encodeURIComponent(target)}`, ["-L", "-H", `x-api-key: ${key.key}`]);
    expect(res.status).toBe(200);
    const echo = res.json();
    // The second request went through keygate: the origin saw the identity, never the key.
    expect(echo).toMatchObject({ path: "/after-redirect", query: "?x=1" });
    expect(echo.headers["x-keygate-key-id"]).toBe(key.id);
    expect(echo.headers["x-api-key"]).toBeUndefined();
    const redirect = await curl(`${kg.url}/__origin/respond?status=302&location=${encodeURIComponent(target)}`, ["-H", `x-api-key: ${key.key}`]);
    expect(redirect.headers.get("location")).toBe(`${kg.url}/after-redirect?x=1`);
  });

  it("forged forwarding headers and method overrides do not reach the origin as sent", async () => {
    const res = await curl(`${kg.url}/fwd`, [
      "-X", "POST",
      "-H", `x-api-key: ${key.key}`,
      "-H", "Forwarded: for=198.51.100.66;host=evil.example;proto=http",
      "-H", "X-Forwarded-For: 198.51.100.66",
      "-H", "X-Real-IP: 198.51.100.66",
      "-H", "True-Client-IP: 198.51.100.66",
      "-H", "X-Original-URL: /admin",
      "--data-binary", "x=1",
    ]);
    const echo = res.json();
    expect(JSON.stringify(echo.headers)).not.toMatch(/198\.51\.100\.66|evil\.example|\/admin/);
    expect(echo.headers.forwarded).toMatch(/host="?127\.0\.0\.1:\d+"?;proto=http$/);
  });
});
