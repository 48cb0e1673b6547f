import { describe, expect, it } from "vitest";
import { createKey, errorOf, gateway, originCounts, withKey } from "../support/client";

// The default policy (60 per 60 s) against a burst far over it, all in flight at once: a sliding
// log in one Durable Object per key must admit exactly the limit, whatever the interleaving.
describe("one key, 200 concurrent requests, default 60 per 60 s", () => {
  it("admits exactly 60 to the origin and refuses the other 140 with 429 before the origin", async () => {
    const key = await createKey();
    const responses = await Promise.all(
      Array.from({ length: 200 }, (_, i) => gateway(`/burst/${i}`, withKey(key.key))),
    );

    const admitted = responses.filter((r) => r.status === 200);
    const refused = responses.filter((r) => r.status === 429);
    expect(admitted).toHaveLength(60);
    expect(refused).toHaveLength(140);

    // The origin counts what really arrived, per x-keygate-key-id.
    expect((await originCounts())[key.id]).toBe(60);

    // Each admission took the next slot: the remainders are exactly 59, 58, ..., 0, once each.
    const remaining = admitted.map((r) => Number(r.headers.get("x-ratelimit-remaining")));
    expect([...remaining].sort((a, b) => b - a)).toEqual(Array.from({ length: 60 }, (_, i) => 59 - i));
    for (const r of admitted) {
      expect(r.headers.get("x-ratelimit-limit")).toBe("60");
      await r.body?.cancel();
    }

    for (const r of refused) {
      expect(r.headers.get("x-ratelimit-remaining")).toBe("0");
      expect(r.headers.get("x-ratelimit-limit")).toBe("60");
      const retryAfter = Number(r.headers.get("retry-after"));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect((await errorOf(r)).error.code).toBe("rate_limit_exceeded");
    }

    // Nothing refused slipped through afterwards either.
    expect((await originCounts())[key.id]).toBe(60);
  });
});
