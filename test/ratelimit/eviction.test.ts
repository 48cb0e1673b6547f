import { env } from "cloudflare:workers";
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { KeyGuard } from "../../src/guards/key-guard";
import { createKey, errorOf, gateway, originCounts, withKey, type Created } from "../support/client";
import { systemClock } from "../../src/clock";
import { statuses, storedWindow, writeThroughKeyGuard } from "./support";

// The window is decided in the object's memory and stored ahead of the replies (a small limit's
// every admission before its reply; see persistence.test.ts for reservations): tearing an instance
// down mid-window, right after a reply, must change nothing a client can see.

async function send(key: Created): Promise<Response> {
  const res = await gateway("/evict", withKey(key.key));
  if (res.status === 200) await res.body?.cancel();
  return res;
}

/** Evicts the key's object at once, and checks that a new instance, rebuilt from storage, answers next. */
async function evict(key: Created): Promise<void> {
  const stub = env.KEY_GUARD.getByName(key.id);
  await runInDurableObject(stub, (instance: KeyGuard) => {
    (instance as unknown as { marker?: boolean }).marker = true;
  });
  await evictDurableObject(stub);
  const fresh = await runInDurableObject(stub, (instance: KeyGuard) => (instance as unknown as { marker?: boolean }).marker);
  expect(fresh).toBeUndefined();
}

/** The entries the key's window holds in memory (each at most one stored row). */
const windowEntries = (key: Created) => env.KEY_GUARD.getByName(key.id).storageStats().then((s) => s.windowEntries);

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
    // Still the first request's window: a slot frees when it leaves, not a fresh window's length away.
    const untilReset = Number(reset) - Date.now() / 1000;
    expect(Math.abs(Number(refused.headers.get("retry-after")) - untilReset)).toBeLessThanOrEqual(2);
    expect((await originCounts())[key.id]).toBe(5);

    // The object's usage counters came back from storage too.
    const usage = await env.KEY_GUARD.getByName(key.id).getUsage();
    expect(usage).toMatchObject({ requests: 5, rateLimited: 1 });
  });

  it("a policy written before the eviction still holds after it", async () => {
    const key = await createKey({ rate_limit: { limit: 5, window_seconds: 60 } });
    expect(await statuses(key.key, 2)).toEqual([200, 200]);
    await writeThroughKeyGuard(key, { windows: [{ name: "default", limit: 2, windowSeconds: 60 }] });
    await evict(key);
    const res = await send(key);
    expect(res.status).toBe(429);
    expect(res.headers.get("x-ratelimit-limit")).toBe("2");
    await res.body?.cancel();
  });
});

describe("memory stays bounded by the limit", () => {
  it("after 40 requests at a limit of 5 the window holds 5 requests, in memory and in storage", async () => {
    const key = await createKey({ rate_limit: { limit: 5, window_seconds: 60 } });
    const results = await Promise.all(Array.from({ length: 40 }, () => send(key)));
    expect(results.filter((r) => r.status === 200)).toHaveLength(5);
    for (const r of results) if (r.status !== 200) await r.body?.cancel();
    expect(await windowEntries(key)).toBeLessThanOrEqual(5);
    expect(await storedWindow(key.id, 60_000)).toEqual({ recorded: 5, reserved: 0 });
  });

  it("with a rolling window memory never holds more than the limit, and empties as requests leave", async () => {
    const key = await createKey({ rate_limit: { limit: 3, window_seconds: 1 } });
    let admitted = 0;
    for (let i = 0; i < 12; i++) {
      const res = await send(key);
      if (res.status === 200) admitted++;
      else await res.body?.cancel();
      expect(await windowEntries(key)).toBeLessThanOrEqual(3);
      systemClock.advance(200);
    }
    expect(admitted).toBeGreaterThan(3); // the window did roll
    systemClock.advance(1_100);
    expect((await send(key)).status).toBe(200);
    expect(await windowEntries(key)).toBe(1);
    expect((await storedWindow(key.id, 1_000)).recorded).toBe(1);
  });
});
