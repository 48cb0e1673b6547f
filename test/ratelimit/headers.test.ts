import { describe, expect, it } from "vitest";
import { createKey, errorOf, gateway, withKey } from "../support/client";
import { headerNumber, timedRequest } from "./support";

const RATE_HEADERS = ["x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset", "ratelimit-policy", "ratelimit"];

/** `RateLimit: "default";r=<r>;t=<t>` parsed; throws on any other shape. */
function parseRateLimit(res: Response): { r: number; t: number } {
  const match = /^"default";r=(\d+);t=(\d+)$/.exec(res.headers.get("ratelimit") ?? "");
  if (!match) throw new Error(`bad RateLimit header: ${res.headers.get("ratelimit")}`);
  return { r: Number(match[1]), t: Number(match[2]) };
}

/**
 * `t` (seconds to reset) and `x-ratelimit-reset` (the Unix second of reset, rounded up) must
 * describe the same moment: their difference is the server's "now", give or take rounding.
 */
function expectSameReset(res: Response, sent: number, received: number) {
  const { t } = parseRateLimit(res);
  const reset = headerNumber(res, "x-ratelimit-reset");
  expect(reset - t).toBeGreaterThan(sent / 1000 - 1);
  expect(reset - t).toBeLessThan(received / 1000 + 1);
}

describe("rate-limit headers on every response to a valid key", () => {
  it("carries the classic trio and the IETF draft pair on proxied responses, counting down", async () => {
    const key = await createKey({ rate_limit: { limit: 4, window_seconds: 30 } });

    const first = await timedRequest(key.key);
    expect(first.res.status).toBe(200);
    expect(first.res.headers.get("x-ratelimit-limit")).toBe("4");
    expect(first.res.headers.get("x-ratelimit-remaining")).toBe("3");
    // The first request itself is the oldest counted one: it leaves 30 s after it was admitted.
    const reset = headerNumber(first.res, "x-ratelimit-reset");
    expect(reset).toBeGreaterThanOrEqual(Math.ceil((first.sent + 30_000) / 1000));
    expect(reset).toBeLessThanOrEqual(Math.ceil((first.received + 30_000) / 1000));
    expect(first.res.headers.get("ratelimit-policy")).toBe('"default";q=4;w=30');
    expect(first.res.headers.get("ratelimit")).toBe('"default";r=3;t=30');
    expect(first.res.headers.get("retry-after")).toBeNull();

    for (const remaining of [2, 1, 0]) {
      const next = await timedRequest(key.key);
      expect(next.res.status).toBe(200);
      expect(next.res.headers.get("x-ratelimit-remaining")).toBe(String(remaining));
      expect(parseRateLimit(next.res).r).toBe(remaining);
      // The oldest counted request is still the first one, so the reset does not move.
      expect(headerNumber(next.res, "x-ratelimit-reset")).toBe(reset);
      expectSameReset(next.res, next.sent, next.received);
      expect(next.res.headers.get("ratelimit-policy")).toBe('"default";q=4;w=30');
    }
  });

  it("uses the default policy (60 per 60 s) for a key without its own", async () => {
    const key = await createKey();
    const res = await gateway("/default", withKey(key.key));
    expect(res.status).toBe(200);
    expect(res.headers.get("ratelimit-policy")).toBe('"default";q=60;w=60');
    expect(res.headers.get("ratelimit")).toBe('"default";r=59;t=60');
    expect(res.headers.get("x-ratelimit-limit")).toBe("60");
  });

  it("on 429 adds Retry-After in whole seconds, equal to t, with remaining 0", async () => {
    const key = await createKey({ rate_limit: { limit: 1, window_seconds: 20 } });
    const admitted = await timedRequest(key.key);
    expect(admitted.res.status).toBe(200);

    const refused = await timedRequest(key.key);
    expect(refused.res.status).toBe(429);
    expect((await errorOf(refused.res)).error.code).toBe("rate_limit_exceeded");
    const retryAfter = refused.res.headers.get("retry-after")!;
    expect(retryAfter).toMatch(/^[1-9]\d*$/);
    // The slot frees when the admitted request leaves: 20 s after it, rounded up to whole seconds.
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(Math.ceil((admitted.sent + 20_000 - refused.received) / 1000));
    expect(Number(retryAfter)).toBeLessThanOrEqual(Math.ceil((admitted.received + 20_000 - refused.sent) / 1000));
    expect(refused.res.headers.get("ratelimit")).toBe(`"default";r=0;t=${retryAfter}`);
    expect(refused.res.headers.get("x-ratelimit-remaining")).toBe("0");
    expect(refused.res.headers.get("x-ratelimit-limit")).toBe("1");
    expect(refused.res.headers.get("ratelimit-policy")).toBe('"default";q=1;w=20');
    expect(headerNumber(refused.res, "x-ratelimit-reset")).toBe(headerNumber(admitted.res, "x-ratelimit-reset"));
    expectSameReset(refused.res, refused.sent, refused.received);
  });

  it("are on a 403 for a missing scope too, which does not use up the window", async () => {
    const key = await createKey({ scopes: ["read"], rate_limit: { limit: 5, window_seconds: 60 } });
    const ok = await gateway("/things", withKey(key.key));
    expect(ok.status).toBe(200);
    expect(ok.headers.get("x-ratelimit-remaining")).toBe("4");

    const forbidden = await gateway("/servers/1", withKey(key.key)); // needs scope "servers"
    expect(forbidden.status).toBe(403);
    expect((await errorOf(forbidden)).error.code).toBe("insufficient_permissions");
    for (const name of RATE_HEADERS) expect(forbidden.headers.get(name), name).not.toBeNull();
    expect(forbidden.headers.get("x-ratelimit-remaining")).toBe("4");

    const again = await gateway("/things", withKey(key.key));
    expect(again.headers.get("x-ratelimit-remaining")).toBe("3");
  });

  it("are on an origin failure after admission too", async () => {
    const key = await createKey({ rate_limit: { limit: 5, window_seconds: 60 } });
    const res = await gateway("/__origin/slow?ms=4000", withKey(key.key)); // ORIGIN_TIMEOUT_MS is 1500
    expect(res.status).toBe(504);
    expect((await errorOf(res)).error.code).toBe("origin_timeout");
    for (const name of RATE_HEADERS) expect(res.headers.get(name), name).not.toBeNull();
    expect(res.headers.get("x-ratelimit-remaining")).toBe("4");
  });

  it("are absent where no key was checked: a public path", async () => {
    const res = await gateway("/health");
    expect(res.status).toBe(200);
    for (const name of RATE_HEADERS) expect(res.headers.get(name), name).toBeNull();
  });
});
