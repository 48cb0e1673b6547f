import { describe, expect, it } from "vitest";
import { systemClock } from "../../src/clock";
import { moveClockTo } from "../support/clock";
import { createKey, errorOf, gateway, withKey } from "../support/client";

// Three requests spread over the window, then probes around the moment the first one leaves.
// A fixed window fails this wherever its boundary falls: a boundary before the third request
// admits the fourth; a later one frees all three slots before the first request has left.
// The test moves keygate's clock rather than wait. Real time still passes while a request is on
// its way, so every timing assertion is phrased against the clock's readings at send and receive,
// which bracket the moment the server decided: a slow machine cannot make the test flaky.

const LIMIT = 3;
const WINDOW_MS = 3_000;
const STAGGER_MS = 1_000;

interface Sent {
  res: Response;
  sent: number;
  received: number;
}

describe("sliding window of 3 per 3 s", () => {
  it("frees a slot exactly when the oldest admitted request leaves, as Retry-After and x-ratelimit-reset said", async () => {
    const key = await createKey({ rate_limit: { limit: LIMIT, window_seconds: WINDOW_MS / 1000 } });
    const send = async (): Promise<Sent> => {
      const sent = systemClock.now();
      const res = await gateway("/slide", withKey(key.key));
      const received = systemClock.now();
      await res.clone().body?.cancel();
      return { res, sent, received };
    };

    const first = await send();
    moveClockTo(first.sent + STAGGER_MS);
    const second = await send();
    moveClockTo(first.sent + 2 * STAGGER_MS);
    const third = await send();
    for (const [i, r] of [first, second, third].entries()) {
      expect(r.res.status).toBe(200);
      expect(r.res.headers.get("x-ratelimit-remaining")).toBe(String(LIMIT - 1 - i));
    }

    // The first request was logged somewhere in [first.sent, first.received], so it leaves the
    // window somewhere in [leaveEarliest, leaveLatest].
    const leaveEarliest = first.sent + WINDOW_MS;
    const leaveLatest = first.received + WINDOW_MS;

    const fourth = await send();
    expect(fourth.res.status).toBe(429);
    expect((await errorOf(fourth.res)).error.code).toBe("rate_limit_exceeded");
    expect(fourth.res.headers.get("x-ratelimit-remaining")).toBe("0");
    // x-ratelimit-reset is the Unix second (rounded up) at which the first request leaves.
    const reset = Number(fourth.res.headers.get("x-ratelimit-reset"));
    expect(reset).toBeGreaterThanOrEqual(Math.ceil(leaveEarliest / 1000));
    expect(reset).toBeLessThanOrEqual(Math.ceil(leaveLatest / 1000));
    // Retry-After counts whole seconds from the refusal to that moment, rounded up.
    const retryAfter = Number(fourth.res.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(Math.ceil((leaveEarliest - fourth.received) / 1000));
    expect(retryAfter).toBeLessThanOrEqual(Math.ceil((leaveLatest - fourth.sent) / 1000));
    expect(fourth.res.headers.get("ratelimit")).toBe(`"default";r=0;t=${retryAfter}`);

    // Probe from shortly before the first request leaves until a probe is admitted.
    moveClockTo(leaveEarliest - 400);
    const probes: Sent[] = [];
    for (;;) {
      const probe = await send();
      probes.push(probe);
      if (probe.res.status === 200) break;
      expect(probe.res.status).toBe(429);
      // A probe that left the client after the first request had surely left must be admitted.
      expect(probe.sent).toBeLessThan(leaveLatest);
      moveClockTo(probe.sent + 50);
    }
    const admitted = probes.at(-1)!;

    // Still refused just before: every probe answered before the earliest leaving moment was a 429,
    // and there was at least one.
    const early = probes.filter((p) => p.received < leaveEarliest);
    expect(early.length).toBeGreaterThan(0);
    for (const p of early) expect(p.res.status).toBe(429);
    expect(admitted.res.status).toBe(200);
    expect(admitted.res.headers.get("x-ratelimit-remaining")).toBe("0");
    // It got the slot at or after the moment the first request left, and not before.
    expect(admitted.received).toBeGreaterThanOrEqual(leaveEarliest);

    // Exactly one slot freed: the second request is still in the window, and the new refusal
    // points at its leaving.
    const after = await send();
    expect(after.received).toBeLessThan(second.sent + WINDOW_MS); // the window has not moved on yet
    expect(after.res.status).toBe(429);
    const nextReset = Number(after.res.headers.get("x-ratelimit-reset"));
    expect(nextReset).toBeGreaterThanOrEqual(Math.ceil((second.sent + WINDOW_MS) / 1000));
    expect(nextReset).toBeLessThanOrEqual(Math.ceil((second.received + WINDOW_MS) / 1000));
  });
});
