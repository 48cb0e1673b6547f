import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { admin, createKey, createTenant, gateway, uniqueIp, withKey } from "../support/client";
import { adminUser, asKey, expectError, json } from "./support";

interface Usage {
  object: string;
  key_id: string;
  requests: number;
  rate_limited: number;
  last_used_at: string | null;
}

async function send(key: string, n: number): Promise<number[]> {
  const ip = uniqueIp();
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) {
    const res = await gateway("/usage-probe", withKey(key, ip));
    await res.body?.cancel();
    statuses.push(res.status);
  }
  return statuses;
}

describe("GET /keys/:id/usage", () => {
  it("starts at zero", async () => {
    const key = await createKey();
    const usage = await json<Usage & { series: unknown[]; totals: unknown }>(await admin("GET", `/keys/${key.id}/usage`), 200);
    expect(usage).toMatchObject({
      object: "key_usage",
      key_id: key.id,
      requests: 0,
      rate_limited: 0,
      last_used_at: null,
      last_used_ip: null,
      last_used_country: null,
      granularity: "hour",
      totals: { admitted: 0, units: 0, rate_limited: 0, refused: {} },
    });
    // The default range: the last 24 hours and the current one, every bucket present.
    expect(usage.series).toHaveLength(25);
  });

  it("counts admitted requests, rate-limited ones and the last use, without writing D1 per request", async () => {
    const key = await createKey({ rate_limit: { limit: 3, window_seconds: 60 } });
    const row = async () => env.DB.prepare("SELECT * FROM api_keys WHERE id = ?").bind(key.id).first();
    const audit = async () => env.DB.prepare("SELECT COUNT(*) AS n FROM audit_events").first<number>("n");
    const [rowBefore, auditBefore] = [await row(), await audit()];
    const startedAt = Date.now();
    expect(await send(key.key, 5)).toEqual([200, 200, 200, 429, 429]);
    const usage = await json<Usage>(await admin("GET", `/keys/${key.id}/usage`), 200);
    expect(usage).toMatchObject({ requests: 3, rate_limited: 2 });
    expect(Date.parse(usage.last_used_at!)).toBeGreaterThanOrEqual(startedAt - 1000);
    expect(Date.parse(usage.last_used_at!)).toBeLessThanOrEqual(Date.now());
    expect(await row()).toEqual(rowBefore);
    expect(await audit()).toBe(auditBefore);
  });

  it("is readable by viewers and by the tenant's own manager key, not by another tenant's", async () => {
    const key = await createKey();
    await send(key.key, 2);
    const viewer = await adminUser("viewer");
    expect((await json<Usage>(await admin("GET", `/keys/${key.id}/usage`, undefined, viewer.token), 200)).requests).toBe(2);
    const own = await createKey({ tenant_id: key.tenant_id, scopes: ["keys:manage"] });
    expect((await json<Usage>(await asKey(own.key, "GET", `/keys/${key.id}/usage`), 200)).requests).toBe(2);
    const other = await createKey({ tenant_id: (await createTenant("Other")).id, scopes: ["keys:manage"] });
    await expectError(await asKey(other.key, "GET", `/keys/${key.id}/usage`), 404, "not_found");
    await expectError(await admin("GET", "/keys/key_00000000000000000000/usage"), 404, "not_found");
  });
});
