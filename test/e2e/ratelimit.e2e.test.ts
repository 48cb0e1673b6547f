import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateKey } from "../../src/keys/format";
import { curl, errorOf, startKeygate, type CurlResult, type KeyView, type Keygate, type TenantView } from "./support.mjs";

// Exact windows and instant revocation, proven against `wrangler dev` (not only the vitest pool):
// real HTTP, real curl processes racing each other, the Durable Objects of a local workerd.

let kg: Keygate;
let tenant: TenantView;

beforeAll(async () => {
  kg = await startKeygate();
  tenant = await kg.admin.createTenant("E2E rate limits");
});

afterAll(async () => {
  await kg?.stop();
});

const withKey = (key: KeyView) => ["-H", `x-api-key: ${key.key}`];
const statuses = (results: CurlResult[]) => results.map((r) => r.status).sort();
const header = (res: CurlResult, name: string) => res.headers.get(name);

/** A key's requests, `n` at a time, each its own curl process. */
const burst = (key: KeyView, path: string, n: number) =>
  Promise.all(Array.from({ length: n }, () => curl(`${kg.url}${path}`, withKey(key))));

/** Uses a key until its caches (isolate, KV) and its object are all warm. */
async function warm(key: KeyView, times = 3) {
  for (let i = 0; i < times; i++) expect((await curl(`${kg.url}/warm`, withKey(key))).status).toBe(200);
}

describe("exact per-key windows under wrangler dev", () => {
  it("20 concurrent requests on a 5-per-minute key: exactly 5 reach the origin, 15 get 429", async () => {
    const key = await kg.admin.createKey({ tenant_id: tenant.id, rate_limit: { limit: 5, window_seconds: 60 } });

    const before = Date.now() / 1000;
    const results = await burst(key, "/burst", 20);
    const after = Date.now() / 1000;
    const admitted = results.filter((r) => r.status === 200);
    const refused = results.filter((r) => r.status === 429);

    expect(statuses(results)).toEqual([...Array(5).fill(200), ...Array(15).fill(429)]);
    expect((await kg.originCounts())[key.id]).toBe(5);
    // Each admitted request saw its own place in the window: remaining 4, 3, 2, 1, 0.
    expect(admitted.map((r) => header(r, "x-ratelimit-remaining")).sort()).toEqual(["0", "1", "2", "3", "4"]);
    for (const res of admitted) {
      expect(header(res, "x-ratelimit-limit")).toBe("5");
      expect(header(res, "ratelimit-policy")).toBe('"default";q=5;w=60');
      expect(header(res, "ratelimit")).toMatch(new RegExp(`^"default";r=${header(res, "x-ratelimit-remaining")};t=\\d+$`));
      expect(header(res, "retry-after")).toBeNull();
    }
    for (const res of refused) {
      expect(errorOf(res).error.code).toBe("rate_limit_exceeded");
      const retryAfter = Number(header(res, "retry-after"));
      expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60).toBe(true);
      expect(header(res, "x-ratelimit-limit")).toBe("5");
      expect(header(res, "x-ratelimit-remaining")).toBe("0");
      expect(header(res, "ratelimit-policy")).toBe('"default";q=5;w=60');
      // The slot frees when the oldest admitted request leaves the window, about a minute from now,
      // and both headers say the same moment: reset - Retry-After is when keygate answered.
      const reset = Number(header(res, "x-ratelimit-reset"));
      expect(reset).toBeGreaterThanOrEqual(Math.floor(before) + 60);
      expect(reset).toBeLessThanOrEqual(Math.ceil(after) + 60);
      expect(reset - retryAfter).toBeGreaterThanOrEqual(Math.floor(before) - 1);
      expect(reset - retryAfter).toBeLessThanOrEqual(Math.ceil(after) + 1);
    }
  });

  it("two keys never share a window", async () => {
    const spent = await kg.admin.createKey({ tenant_id: tenant.id, rate_limit: { limit: 2, window_seconds: 60 } });
    const fresh = await kg.admin.createKey({ tenant_id: tenant.id, rate_limit: { limit: 2, window_seconds: 60 } });

    expect(statuses(await burst(spent, "/spent", 3))).toEqual([200, 200, 429]);
    const res = await curl(`${kg.url}/fresh`, withKey(fresh));

    expect(res.status).toBe(200);
    expect(header(res, "x-ratelimit-remaining")).toBe("1");
  });

  it("raising a spent key's limit through the admin API admits its very next request", async () => {
    const key = await kg.admin.createKey({ tenant_id: tenant.id, rate_limit: { limit: 2, window_seconds: 60 } });
    expect(statuses(await burst(key, "/before-raise", 3))).toEqual([200, 200, 429]);

    await kg.admin.updateKey(key.id, { rate_limit: { limit: 4, window_seconds: 60 } });
    const res = await curl(`${kg.url}/after-raise`, withKey(key));

    expect(res.status).toBe(200);
    expect(header(res, "x-ratelimit-limit")).toBe("4");
    expect(header(res, "x-ratelimit-remaining")).toBe("1");
    expect((await kg.originCounts())[key.id]).toBe(3);
  });
});

describe("instant status changes under wrangler dev", () => {
  it("revoking a warm key: the very next request gets 401 revoked_key", async () => {
    const key = await kg.admin.createKey({ tenant_id: tenant.id });
    await warm(key);

    await kg.admin.revokeKey(key.id);
    const res = await curl(`${kg.url}/after-revoke`, withKey(key));

    expect(res.status).toBe(401);
    expect(errorOf(res).error.code).toBe("revoked_key");
    expect((await kg.originCounts())[key.id]).toBe(3);
  });

  it("deleting a warm key: the very next request gets 401 invalid_key", async () => {
    const key = await kg.admin.createKey({ tenant_id: tenant.id });
    await warm(key);

    await kg.admin.deleteKey(key.id);
    const res = await curl(`${kg.url}/after-delete`, withKey(key));

    expect(res.status).toBe(401);
    expect(errorOf(res).error.code).toBe("invalid_key");
    expect((await kg.originCounts())[key.id]).toBe(3);
  });

  it("suspending the tenant: its warm key gets 401 tenant_inactive at once, and works again on reactivation", async () => {
    const other = await kg.admin.createTenant("E2E suspended");
    const key = await kg.admin.createKey({ tenant_id: other.id });
    await warm(key);

    await kg.admin.updateTenant(other.id, { status: "suspended" });
    const refused = await curl(`${kg.url}/while-suspended`, withKey(key));
    await kg.admin.updateTenant(other.id, { status: "active" });
    const again = await curl(`${kg.url}/after-reactivation`, withKey(key));

    expect(refused.status).toBe(401);
    expect(errorOf(refused).error.code).toBe("tenant_inactive");
    expect(again.status).toBe(200);
    expect(await kg.originPaths()).not.toHaveProperty("/while-suspended");
  });
});

describe("failed authentications under wrangler dev", () => {
  it("after 30 unknown keys from one client IP, the 31st attempt gets 429 too_many_failed_attempts", async () => {
    const ip = ["-H", "cf-connecting-ip: 198.51.100.31"];
    for (let i = 0; i < 30; i++) {
      const res = await curl(`${kg.url}/probe`, ["-H", `x-api-key: ${generateKey("kg", "live")}`, ...ip]);
      expect(res.status).toBe(401);
    }
    const res = await curl(`${kg.url}/probe`, ["-H", `x-api-key: ${generateKey("kg", "live")}`, ...ip]);

    expect(res.status).toBe(429);
    expect(errorOf(res).error.code).toBe("too_many_failed_attempts");
    expect(Number(header(res, "retry-after"))).toBeGreaterThanOrEqual(1);
  });
});
