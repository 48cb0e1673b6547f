import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { hashKey } from "../../src/keys/hash";
import { createExecutionContext } from "cloudflare:test";
import { createServices } from "../../src/services";
import type { KeyRecord } from "../../src/authority/key";
import { systemClock } from "../../src/clock";
import { admin, createKey, createTenant, errorOf, gateway, originCounts, withKey, type Created } from "../support/client";
import { statuses } from "./support";

async function remainingAfterOne(key: Created): Promise<{ status: number; limit: string | null; remaining: string | null; policy: string | null }> {
  const res = await gateway("/limits", withKey(key.key));
  await res.body?.cancel();
  return {
    status: res.status,
    limit: res.headers.get("x-ratelimit-limit"),
    remaining: res.headers.get("x-ratelimit-remaining"),
    policy: res.headers.get("ratelimit-policy"),
  };
}

describe("every key has its own window", () => {
  it("two keys of one tenant, hammered at once, each get exactly their own limit", async () => {
    const tenant = await createTenant();
    const a = await createKey({ tenant_id: tenant.id, rate_limit: { limit: 3, window_seconds: 60 } });
    const b = await createKey({ tenant_id: tenant.id, rate_limit: { limit: 5, window_seconds: 60 } });
    const responses = await Promise.all(
      Array.from({ length: 40 }, (_, i) => gateway(`/shared/${i}`, withKey(i % 2 ? a.key : b.key)).then(async (r) => {
        await r.body?.cancel();
        return { key: i % 2 ? a.id : b.id, status: r.status };
      })),
    );
    const admittedFor = (id: string) => responses.filter((r) => r.key === id && r.status === 200).length;
    expect(admittedFor(a.id)).toBe(3);
    expect(admittedFor(b.id)).toBe(5);
    expect(responses.filter((r) => r.status === 429)).toHaveLength(32);
    const counts = await originCounts();
    expect(counts[a.id]).toBe(3);
    expect(counts[b.id]).toBe(5);
  });

  it("a key whose window is exhausted leaves another key's window untouched", async () => {
    const a = await createKey({ rate_limit: { limit: 2, window_seconds: 60 } });
    const b = await createKey({ rate_limit: { limit: 2, window_seconds: 60 } });
    expect(await statuses(a.key, 4)).toEqual([200, 200, 429, 429]);
    expect(await remainingAfterOne(b)).toMatchObject({ status: 200, remaining: "1" });
    expect(await statuses(a.key, 1)).toEqual([429]);
    expect(await statuses(b.key, 2)).toEqual([200, 429]);
  });
});

/** A limit change through the admin API; the key's object has it before the call returns. */
async function patchRateLimit(key: Created, limit: number, windowSeconds = 60): Promise<void> {
  const res = await admin("PATCH", `/keys/${key.id}`, { rate_limit: { limit, window_seconds: windowSeconds } });
  expect(res.status).toBe(200);
  expect(await res.json()).toMatchObject({ rate_limit: { limit, window_seconds: windowSeconds } });
}

describe("a key's limit change through PATCH /_keygate/v1/keys/:id takes effect on its next request", () => {
  it("lowered below what the window holds: refused at once, with the new limit in the headers", async () => {
    const key = await createKey({ rate_limit: { limit: 5, window_seconds: 60 } });
    expect(await statuses(key.key, 3)).toEqual([200, 200, 200]);

    await patchRateLimit(key, 2);
    const res = await gateway("/limits", withKey(key.key));
    expect(res.status).toBe(429);
    expect((await errorOf(res)).error.code).toBe("rate_limit_exceeded");
    expect(res.headers.get("x-ratelimit-limit")).toBe("2");
    expect(res.headers.get("x-ratelimit-remaining")).toBe("0");
    expect(res.headers.get("ratelimit-policy")).toBe('"default";q=2;w=60');
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(50);
  });

  it("raised again within the same window: the requests already admitted still count", async () => {
    const key = await createKey({ rate_limit: { limit: 5, window_seconds: 60 } });
    expect(await statuses(key.key, 3)).toEqual([200, 200, 200]);
    await patchRateLimit(key, 2);
    expect(await statuses(key.key, 1)).toEqual([429]);

    // 3 admitted in the window and a limit of 4: exactly one more, not two (nor four).
    await patchRateLimit(key, 4);
    expect(await remainingAfterOne(key)).toMatchObject({ status: 200, limit: "4", remaining: "0" });
    expect(await statuses(key.key, 1)).toEqual([429]);

    await patchRateLimit(key, 10);
    expect(await remainingAfterOne(key)).toMatchObject({ status: 200, limit: "10", remaining: "5", policy: '"default";q=10;w=60' });
    expect((await originCounts())[key.id]).toBe(5);
  });

  it("a shorter window lets out the requests that are older than it", async () => {
    const key = await createKey({ rate_limit: { limit: 2, window_seconds: 60 } });
    expect(await statuses(key.key, 3)).toEqual([200, 200, 429]);
    await patchRateLimit(key, 2, 1);
    systemClock.advance(1_000);
    expect(await remainingAfterOne(key)).toMatchObject({ status: 200, remaining: "1", policy: '"default";q=2;w=1' });
  });

  it("holds even where a cache still has the old limit (the key's object decides, not the cache)", async () => {
    const key = await createKey({ rate_limit: { limit: 5, window_seconds: 60 } });
    expect(await statuses(key.key, 2)).toEqual([200, 200]);
    const hash = await hashKey(key.key);
    const stale = await env.KEYS_CACHE.get<KeyRecord>(`key:${hash}`, "json");
    expect(stale!.windows).toMatchObject([{ limit: 5 }]);

    await patchRateLimit(key, 2);
    await createServices(env, createExecutionContext()).keys.cache(hash, stale!);
    expect(await remainingAfterOne(key)).toMatchObject({ status: 429, limit: "2" });
  });
});
