import { env } from "cloudflare:workers";
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { KeyGuard } from "../../src/guards/key-guard";
import { createKey, errorOf, gateway, originCounts, withKey, type Created } from "../support/client";
import { sleep, statuses, writeThroughKeyGuard } from "./support";

// The window lives in the object's SQLite storage, not in its memory: tearing the instance down
// mid-window must change nothing a client can see.

async function send(key: Created): Promise<Response> {
  const res = await gateway("/evict", withKey(key.key));
  if (res.status === 200) await res.body?.cancel();
  return res;
}

/** Evicts the key's object and checks that a new instance, rebuilt from storage, answers next. */
async function evict(key: Created): Promise<void> {
  const stub = env.KEY_GUARD.getByName(key.id);
  await runInDurableObject(stub, (instance: KeyGuard) => {
    (instance as unknown as { marker?: boolean }).marker = true;
  });
  await evictDurableObject(stub);
  const fresh = await runInDurableObject(stub, (instance: KeyGuard) => (instance as unknown as { marker?: boolean }).marker);
  expect(fresh).toBeUndefined();
}

const hitRows = (key: Created) =>
  runInDurableObject(env.KEY_GUARD.getByName(key.id), (_instance: KeyGuard, state) =>
    state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM hits").one().n,
  );

describe("the window survives eviction of the key's object", () => {
  it("remaining, reset and the limit carry on exactly across evictions", async () => {
    const key = await createKey({ rate_limit: { limit: 5, window_seconds: 60 } });
    const first = await send(key);
    expect(first.headers.get("x-ratelimit-remaining")).toBe("4");
    const reset = first.headers.get("x-ratelimit-reset");
    expect((await send(key)).headers.get("x-ratelimit-remaining")).toBe("3");
    expect((await send(key)).headers.get("x-ratelimit-remaining")).toBe("2");

    await evict(key);
    const afterEviction = await send(key);
    expect(afterEviction.status).toBe(200);
    expect(afterEviction.headers.get("x-ratelimit-remaining")).toBe("1");
    expect(afterEviction.headers.get("x-ratelimit-reset")).toBe(reset);
    expect((await send(key)).headers.get("x-ratelimit-remaining")).toBe("0");

    await evict(key);
    const refused = await send(key);
    expect(refused.status).toBe(429);
    expect((await errorOf(refused)).error.code).toBe("rate_limit_exceeded");
    expect(refused.headers.get("x-ratelimit-reset")).toBe(reset);
    expect(refused.headers.get("x-ratelimit-limit")).toBe("5");
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(50);
    expect((await originCounts())[key.id]).toBe(5);

    // The object's usage counters came back from storage too.
    const usage = await env.KEY_GUARD.getByName(key.id).getUsage();
    expect(usage).toMatchObject({ requests: 5, rateLimited: 1 });
  });

  it("a policy written before the eviction still holds after it", async () => {
    const key = await createKey({ rate_limit: { limit: 5, window_seconds: 60 } });
    expect(await statuses(key.key, 2)).toEqual([200, 200]);
    await writeThroughKeyGuard(key, { limit: 2 });
    await evict(key);
    const res = await send(key);
    expect(res.status).toBe(429);
    expect(res.headers.get("x-ratelimit-limit")).toBe("2");
    await res.body?.cancel();
  });
});

describe("memory stays bounded by the limit", () => {
  it("after 40 requests at a limit of 5 the log holds 5 rows", async () => {
    const key = await createKey({ rate_limit: { limit: 5, window_seconds: 60 } });
    const results = await Promise.all(Array.from({ length: 40 }, () => send(key)));
    expect(results.filter((r) => r.status === 200)).toHaveLength(5);
    for (const r of results) if (r.status !== 200) await r.body?.cancel();
    expect(await hitRows(key)).toBe(5);
  });

  it("with a rolling window the log never holds more than the limit, and empties as requests leave", async () => {
    const key = await createKey({ rate_limit: { limit: 3, window_seconds: 1 } });
    let admitted = 0;
    for (let i = 0; i < 12; i++) {
      const res = await send(key);
      if (res.status === 200) admitted++;
      else await res.body?.cancel();
      expect(await hitRows(key)).toBeLessThanOrEqual(3);
      await sleep(200);
    }
    expect(admitted).toBeGreaterThan(3); // the window did roll
    await sleep(1_100);
    expect((await send(key)).status).toBe(200);
    expect(await hitRows(key)).toBe(1);
  });
});
