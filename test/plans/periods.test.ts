import { describe, expect, it } from "vitest";
import { systemClock } from "../../src/clock";
import { periodAt } from "../../src/counting/calendar";
import { createTenant } from "../support/client";
import { call, getKeyBody, getTenantBody, outcomes, planKey, standing, tenantWithQuotas } from "./support";

// Credits refill and quotas reset on calendar periods; the tests reach the next period by moving
// the clock (src/clock.ts), never by waiting for it.

/** Moves the clock to just past the end of the current UTC day. */
function toNextDay(): void {
  const { end } = periodAt(systemClock.now(), { period: "day" });
  systemClock.advance(end - systemClock.now() + 1);
}

describe("credits", () => {
  it("are spent by each admission's route cost, and set back to the refill's amount when a new day begins", async () => {
    const key = await planKey({ tenant_id: (await createTenant()).id, credits: { remaining: 25, refill: { amount: 30, interval: "day" } } });
    // An image costs 10 (ROUTE_COSTS in vitest.config.ts), another request 1, a ping nothing.
    expect(await outcomes(key.key, 2, "/images/cat", "POST")).toEqual(["ok", "ok"]);
    const refused = await call(key.key, "/images/cat", "POST");
    expect(refused.outcome).toBe("usage_exceeded");
    const untilRefill = Math.ceil((periodAt(systemClock.now(), { period: "day" }).end - systemClock.now()) / 1000);
    expect(Math.abs(Number(refused.headers.get("retry-after")) - untilRefill)).toBeLessThanOrEqual(2);
    expect(await outcomes(key.key, 1, "/items")).toEqual(["ok"]);
    expect(await outcomes(key.key, 3, "/ping/1")).toEqual(["ok", "ok", "ok"]);
    expect((await standing(key.key)).credits).toBe(4);
    expect((await getKeyBody(key.id)).credits!.remaining).toBe(4);

    toNextDay();
    // A refill sets what is left to its amount; it does not add to it.
    expect((await standing(key.key)).credits).toBe(30);
    expect(await outcomes(key.key, 1, "/images/cat", "POST")).toEqual(["ok"]);
    expect((await getKeyBody(key.id)).credits).toMatchObject({ remaining: 20, refills_at: new Date(periodAt(systemClock.now(), { period: "day" }).end).toISOString() });
  });

  it("without a refill only go down", async () => {
    const key = await planKey({ tenant_id: (await createTenant()).id, credits: { remaining: 2 } });
    expect(await outcomes(key.key, 3)).toEqual(["ok", "ok", "usage_exceeded"]);
    toNextDay();
    expect(await outcomes(key.key, 1)).toEqual(["usage_exceeded"]);
  });
});

describe("a quota", () => {
  it("refuses for the rest of its period once spent, and admits again when the next begins", async () => {
    const tenant = await tenantWithQuotas({ live: { limit: 3, period: "day" } });
    const [a, b] = [await planKey({ tenant_id: tenant.id }), await planKey({ tenant_id: tenant.id })];
    expect([...(await outcomes(a.key, 2)), ...(await outcomes(b.key, 2))].filter((outcome) => outcome === "ok")).toHaveLength(3);
    expect(await outcomes(a.key, 1)).toEqual(["quota_exceeded"]);
    expect(await outcomes(b.key, 1)).toEqual(["quota_exceeded"]);

    toNextDay();
    expect(await outcomes(a.key, 2)).toEqual(["ok", "ok"]);
    expect(await outcomes(b.key, 2)).toEqual(["ok", "quota_exceeded"]);
    const quota = (await getTenantBody(tenant.id)).quotas.live!;
    expect(quota).toMatchObject({ limit: 3, used: 3, remaining: 0, resets_at: new Date(periodAt(systemClock.now(), { period: "day" }).end).toISOString() });
  });
});
