import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { HOUR_MS, KEY_RETENTION_MS } from "../../src/usage/buckets";
import { MAX_STATEMENTS_PER_BATCH, type KeyTotals } from "../../src/usage/totals-forwarder";

// The forwarder every key object hands its tenant totals to, called as a key's object calls it.
const forwarder = () => env.USAGE_FORWARDER.getByName(`forwarder-test-${crypto.randomUUID()}`);
const thisHour = () => Math.floor(Date.now() / HOUR_MS) * HOUR_MS;

function totals(tenantId: string, keyId: string, admitted: number, hour = thisHour()): KeyTotals {
  return { owner: { keyId, tenantId }, hours: [{ hour, counts: JSON.stringify({ valid: admitted, rate_limit_exceeded: 1 }) }], lastUsedAt: Date.now() };
}

async function storedFor(tenantId: string) {
  const { results } = await env.DB.prepare("SELECT key_id, hour, admitted, rate_limited FROM tenant_usage_hourly WHERE tenant_id = ? ORDER BY key_id").bind(tenantId).all<{
    key_id: string;
    hour: number;
    admitted: number;
    rate_limited: number;
  }>();
  return results;
}

describe("tenant totals reach D1 through a forwarder, many keys to a batch", () => {
  it("120 keys forwarding at once: each call returns once D1 holds its counts, a few D1 batches for all", async () => {
    const stub = forwarder();
    const tenants = [`ten_a_${crypto.randomUUID()}`, `ten_b_${crypto.randomUUID()}`];
    const run = crypto.randomUUID();
    const sent = Array.from({ length: 120 }, (_, i) => totals(tenants[i % 2]!, `key_${run}_${String(i).padStart(3, "0")}`, i + 1));

    await Promise.all(
      sent.map(async (t) => {
        await stub.forward(t);
        // Returned: this key's counts are in D1 already, whatever the other calls are doing.
        const row = await env.DB.prepare("SELECT admitted FROM tenant_usage_hourly WHERE key_id = ?").bind(t.owner.keyId).first<{ admitted: number }>();
        expect(row?.admitted).toBe(JSON.parse(t.hours[0]!.counts).valid);
      }),
    );

    for (const tenantId of tenants) {
      const rows = await storedFor(tenantId);
      expect(rows).toHaveLength(60);
      expect(rows.every((r) => r.rate_limited === 1 && r.hour === thisHour())).toBe(true);
    }
    const lastUsed = await env.DB.prepare("SELECT count(*) AS n FROM key_last_used WHERE key_id LIKE ?").bind(`key_${run}_%`).first<{ n: number }>();
    expect(lastUsed?.n).toBe(120);
    // Two statements a key (its hour, its last use) and one prune per tenant: 242 statements, at most
    // MAX_STATEMENTS_PER_BATCH a batch, in however many writes the calls' arrival made (one or two).
    const { batches, keys } = await stub.stats();
    expect(keys).toBe(120);
    expect(batches).toBeGreaterThanOrEqual(Math.ceil(242 / MAX_STATEMENTS_PER_BATCH));
    expect(batches).toBeLessThanOrEqual(Math.ceil(242 / MAX_STATEMENTS_PER_BATCH) + 2);
  });

  it("a forward repeated with newer counts replaces the key's hour, never adds to it", async () => {
    const stub = forwarder();
    const tenantId = `ten_${crypto.randomUUID()}`;
    await stub.forward(totals(tenantId, "key_repeat", 5));
    await stub.forward(totals(tenantId, "key_repeat", 5));
    await stub.forward(totals(tenantId, "key_repeat", 7));
    expect(await storedFor(tenantId)).toEqual([{ key_id: "key_repeat", hour: thisHour(), admitted: 7, rate_limited: 1 }]);
  });

  it("a key bringing more hours than one batch may carry gets a batch of its own; nobody is refused", async () => {
    const stub = forwarder();
    const tenantId = `ten_${crypto.randomUUID()}`;
    const hour = thisHour();
    // A key that could not forward for days: one statement per hour, more than a batch's share.
    const backlog: KeyTotals = {
      owner: { keyId: "key_backlog", tenantId },
      hours: Array.from({ length: MAX_STATEMENTS_PER_BATCH + 20 }, (_, i) => ({ hour: hour - i * HOUR_MS, counts: JSON.stringify({ valid: 1 }) })),
      lastUsedAt: Date.now(),
    };
    await Promise.all([stub.forward(totals(tenantId, "key_before", 2)), stub.forward(backlog), stub.forward(totals(tenantId, "key_after", 3))]);
    const rows = await storedFor(tenantId);
    expect(rows.filter((r) => r.key_id === "key_backlog")).toHaveLength(MAX_STATEMENTS_PER_BATCH + 20);
    expect(rows.filter((r) => r.key_id !== "key_backlog").map((r) => [r.key_id, r.admitted])).toEqual([
      ["key_after", 3],
      ["key_before", 2],
    ]);
    expect((await stub.stats()).batches).toBe(3);
  });

  it("counts it cannot read fail only their own forward; the rest of the batch is written", async () => {
    const stub = forwarder();
    const tenantId = `ten_${crypto.randomUUID()}`;
    const unreadable: KeyTotals = { owner: { keyId: "key_bad", tenantId }, hours: [{ hour: thisHour(), counts: "{not json" }], lastUsedAt: null };
    const results = await Promise.allSettled([
      stub.forward(totals(tenantId, "key_1", 1)),
      stub.forward(unreadable),
      stub.forward(totals(tenantId, "key_2", 2)),
    ]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect((await storedFor(tenantId)).map((r) => [r.key_id, r.admitted])).toEqual([
      ["key_1", 1],
      ["key_2", 2],
    ]);
  });

  it("drops a tenant's hours older than the retention with its first forward of the hour", async () => {
    const tenantId = `ten_${crypto.randomUUID()}`;
    const expired = thisHour() - KEY_RETENTION_MS - HOUR_MS;
    const kept = thisHour() - 2 * HOUR_MS;
    await env.DB.batch([
      env.DB.prepare("INSERT INTO tenant_usage_hourly (tenant_id, hour, key_id, admitted, rate_limited, refused) VALUES (?, ?, 'key_old', 9, 0, '{}')").bind(tenantId, expired),
      env.DB.prepare("INSERT INTO tenant_usage_hourly (tenant_id, hour, key_id, admitted, rate_limited, refused) VALUES (?, ?, 'key_old', 4, 0, '{}')").bind(tenantId, kept),
    ]);
    await forwarder().forward(totals(tenantId, "key_new", 3));
    expect((await storedFor(tenantId)).map((r) => [r.key_id, r.hour])).toEqual([
      ["key_new", thisHour()],
      ["key_old", kept],
    ]);
  });
});
