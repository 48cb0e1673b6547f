import { describe, expect, it } from "vitest";
import { systemClock } from "../../src/clock";
import { periodAt } from "../../src/counting/calendar";
import { outcomes, planKey, setQuotas, tenantWithQuotas } from "./support";

describe("a quota whose period is changed", () => {
  it("counts in the new period from the change: a monthly quota made daily resets at the end of today", async () => {
    const tenant = await tenantWithQuotas({ live: { limit: 100, period: "month" } });
    const key = await planKey({ tenant_id: tenant.id });
    expect(await outcomes(key.key, 2)).toEqual(["ok", "ok"]);
    const daily = await setQuotas(tenant.id, { live: { limit: 100, period: "day" } });
    expect(daily.quotas.live).toMatchObject({ period: "day", resets_at: new Date(periodAt(systemClock.now(), { period: "day" }).end).toISOString() });
    // The new period starts from nothing but what the key spent from a lease it held when the quota
    // changed, which it gave back before the call returned: at most the two requests, never more.
    const { used, remaining } = daily.quotas.live!;
    expect(used).toBeLessThanOrEqual(2);
    expect(remaining).toBe(100 - used!);
    const monthly = await setQuotas(tenant.id, { live: { limit: 100, period: "month", anchor_day: 15 } });
    expect(monthly.quotas.live).toMatchObject({ period: "month", anchor_day: 15, used: 0, resets_at: new Date(periodAt(systemClock.now(), { period: "month", anchorDay: 15 }).end).toISOString() });
    expect(await outcomes(key.key, 1)).toEqual(["ok"]);
  });
});

describe("a quota removed and set again", () => {
  it("under another calendar: counts in the new calendar's period, so a month's limit is not spent once today and again from tomorrow", async () => {
    const tenant = await tenantWithQuotas({ live: { limit: 100, period: "day" } });
    const key = await planKey({ tenant_id: tenant.id });
    expect(await outcomes(key.key, 2)).toEqual(["ok", "ok"]);
    await setQuotas(tenant.id, { live: null });
    const monthly = await setQuotas(tenant.id, { live: { limit: 1000, period: "month" } });
    expect(monthly.quotas.live).toMatchObject({ period: "month", used: 0, resets_at: new Date(periodAt(systemClock.now(), { period: "month" }).end).toISOString() });
  });

  it("under the same calendar in the same period: what was spent before the removal still counts, and the leases given back are not counted as out", async () => {
    const tenant = await tenantWithQuotas({ live: { limit: 100, period: "month" } });
    const key = await planKey({ tenant_id: tenant.id });
    expect(await outcomes(key.key, 3)).toEqual(["ok", "ok", "ok"]);
    await setQuotas(tenant.id, { live: null });
    const again = await setQuotas(tenant.id, { live: { limit: 100, period: "month" } });
    expect(again.quotas.live).toMatchObject({ used: 3, remaining: 97 });
  });
});
