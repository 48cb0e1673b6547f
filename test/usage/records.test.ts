import { env } from "cloudflare:workers";
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { systemClock } from "../../src/clock";
import { FORWARD_DELAY_MS, FORWARD_EVERY_MS, type KeyGuard } from "../../src/guards/key-guard";
import { admin, createKey, createTenant, gateway, uniqueIp, withKey } from "../support/client";
import { expectError, json, type KeyBody, type List } from "../admin/support";
import { basic, callWorker, unknownKey } from "../gateway/helpers";
import { failedAttempts, forwardNow, keyEvents, keyUsage, tenantUsage } from "./support";
import { runDueWrite } from "../ratelimit/support";

async function send(path: string, headers: Record<string, string>, method = "GET"): Promise<number> {
  const res = await gateway(path, { method, headers });
  await res.body?.cancel();
  return res.status;
}

const HOUR = 3_600_000;

describe("a mix of requests shows up exactly in the key's records, the client's failures and the tenant's totals", () => {
  it("admitted, rate-limited, scope-refused, revoked and unknown-key requests", async () => {
    const tenant = await createTenant("Usage");
    const key = await createKey({ tenant_id: tenant.id, scopes: ["read"], rate_limit: { limit: 3, window_seconds: 60 } });
    const quiet = await createKey({ tenant_id: tenant.id });
    const ip = "198.51.100.23";
    const from = { "cf-connecting-ip": ip, "user-agent": `probe/1.0 ${"x".repeat(100)}` };
    const startedAt = systemClock.now();

    // Three admissions in three styles, the query never recorded; then two over the limit.
    expect(await send("/items/1?token=secret-query", { ...from, "x-api-key": key.key })).toBe(200);
    expect(await send("/items/2", { ...from, authorization: `Bearer ${key.key}` })).toBe(200);
    expect(await send("/items/3", { ...from, authorization: basic(key.key) })).toBe(200);
    expect(await send("/items/4", { ...from, "x-api-key": key.key })).toBe(429);
    expect(await send("/items/5", { ...from, "x-api-key": key.key })).toBe(429);
    // A write needs "write": refused by scope, and counted in no window.
    expect(await send("/items/6", { ...from, "x-api-key": key.key }, "POST")).toBe(403);
    // One request with the quiet key, so the tenant has two keys to rank.
    expect(await send("/other", { ...from, "x-api-key": quiet.key })).toBe(200);
    // Unknown keys reach no key's records, only the client's failures.
    const stranger = unknownKey();
    expect(await send("/probe?key=nothing", { ...from, "x-api-key": stranger })).toBe(401);
    await json(await admin("POST", `/keys/${key.id}/revoke`), 200);
    // A lookup that finds the key revoked answers without asking the key's object, and records the
    // use there after the answer (waitUntil): callWorker returns once the request's work is done.
    const revoked = await callWorker("/items/7", { headers: { ...from, "x-api-key": key.key } });
    await revoked.body?.cancel();
    expect(revoked.status).toBe(401);

    const events = await keyEvents(key.id);
    expect(events.map((e) => [e.code, e.status, e.method, e.path, e.carrier])).toEqual([
      ["revoked_key", 401, "GET", "/items/7", "x-api-key"],
      ["insufficient_permissions", 403, "POST", "/items/6", "x-api-key"],
      ["rate_limit_exceeded", 429, "GET", "/items/5", "x-api-key"],
      ["rate_limit_exceeded", 429, "GET", "/items/4", "x-api-key"],
      ["valid", 200, "GET", "/items/3", "basic"],
      ["valid", 200, "GET", "/items/2", "bearer"],
      ["valid", 200, "GET", "/items/1", "x-api-key"],
    ]);
    for (const event of events) {
      expect(event).toMatchObject({ object: "key_event", ip, user_agent: `probe/1.0 ${"x".repeat(54)}` });
      expect(event.request_id).toMatch(/^req_/);
      expect(Date.parse(event.at)).toBeGreaterThanOrEqual(startedAt - 1000);
    }

    const usage = await keyUsage(key.id);
    expect(usage).toMatchObject({
      requests: 3,
      rate_limited: 2,
      last_used_ip: ip,
      totals: { admitted: 3, units: 3, rate_limited: 2, refused: { insufficient_permissions: 1, revoked_key: 1 } },
    });
    expect(Date.parse(usage.last_used_at!)).toBeGreaterThanOrEqual(startedAt - 1000);
    const busy = usage.series.filter((p) => p.admitted + p.rate_limited + Object.keys(p.refused).length > 0);
    expect(busy.length).toBeGreaterThanOrEqual(1);
    expect(busy.at(-1)!.start).toBe(new Date(Math.floor(systemClock.now() / HOUR) * HOUR).toISOString());

    // The client's failures: the unknown key (display form only) and the revoked one.
    const failures = await failedAttempts(ip);
    expect(failures.data.map((f) => [f.code, f.path])).toEqual([
      ["revoked_key", "/items/7"],
      ["invalid_key", "/probe"],
    ]);
    expect(failures.data[1]!.key).toBe(`${stranger.slice(0, 12)}…${stranger.slice(-4)}`);
    expect(JSON.stringify(failures)).not.toContain(stranger);
    expect(failures.hours.reduce((n, h) => n + Object.values(h.counts).reduce((a, b) => a + b, 0), 0)).toBe(2);

    // Tenant totals arrive with each key's next forward (its alarm, at most 5 s after a change).
    await forwardNow(key.id);
    await forwardNow(quiet.id);
    const totals = await tenantUsage(tenant.id);
    expect(totals.totals).toEqual({ admitted: 4, units: 4, rate_limited: 2, refused: { insufficient_permissions: 1, revoked_key: 1 } });
    expect(totals.keys).toEqual([
      { key_id: key.id, admitted: 3, units: 3, rate_limited: 2, refused: { insufficient_permissions: 1, revoked_key: 1 } },
      { key_id: quiet.id, admitted: 1, units: 1, rate_limited: 0, refused: {} },
    ]);
    const days = await tenantUsage(tenant.id, "?granularity=day");
    expect(days.series.at(-1)).toMatchObject({ admitted: 4, rate_limited: 2 });

    // Key list and detail show the last use as forwarded.
    const list = await json<List<KeyBody & { last_used_at: string | null }>>(await admin("GET", `/keys?tenant_id=${tenant.id}&status=active`), 200);
    expect(list.data.map((k) => [k.id, k.last_used_at !== null])).toEqual([[quiet.id, true]]);
    const detail = await json<KeyBody & { last_used_at: string | null }>(await admin("GET", `/keys/${key.id}`), 200);
    expect(detail.last_used_at).toBe(usage.last_used_at);
  });

  it("tenant totals follow on their own: the key's write sets its alarm within the documented 5 seconds", async () => {
    const key = await createKey();
    expect(await send("/later", { "x-api-key": key.key, "cf-connecting-ip": uniqueIp() })).toBe(200);
    // The object's write after the reply (its timer, run now) sets the alarm that forwards.
    await runDueWrite(key.id);
    const stub = env.KEY_GUARD.getByName(key.id);
    const alarm = await runInDurableObject(stub, (_i: KeyGuard, state) => state.storage.getAlarm());
    expect(alarm! - systemClock.now()).toBeLessThanOrEqual(FORWARD_DELAY_MS);
    // The alarm, when it fires, hands the counts to a forwarder; its call returns once D1 has them.
    await runInDurableObject(stub, (instance: KeyGuard) => (instance as unknown as { alarm(): Promise<void> }).alarm());
    expect((await tenantUsage(key.tenant_id)).totals.admitted).toBe(1);

    // Once forwarded, a busy key forwards again only a minute later: one D1 batch per key per minute.
    expect(await send("/again", { "x-api-key": key.key, "cf-connecting-ip": uniqueIp() })).toBe(200);
    await runDueWrite(key.id);
    const next = await runInDurableObject(stub, (_i: KeyGuard, state) => state.storage.getAlarm());
    expect(next! - systemClock.now()).toBeGreaterThan(FORWARD_EVERY_MS - 10_000);
  });
});

/** Records decisions at explicit times inside the key's object, as its requests would. */
async function recordAt(keyId: string, entries: { at: number; verdict: string; path?: string }[]) {
  await runInDurableObject(env.KEY_GUARD.getByName(keyId), (instance: KeyGuard) => {
    const guard = instance as unknown as { usage: { record(verdict: string, use: unknown, now: number): void } };
    for (const { at, verdict, path } of entries) {
      guard.usage.record(verdict, { keyId, tenantId: "ten_x", method: "GET", path: path ?? "/t", ip: null, country: null, userAgent: null, requestId: null, carrier: "x-api-key" }, at);
    }
  });
}

describe("the key's records over time", () => {
  it("an hour boundary crossed lands in the right buckets", async () => {
    const key = await createKey();
    const hour = Math.floor(systemClock.now() / HOUR) * HOUR - 5 * HOUR;
    await recordAt(key.id, [
      { at: hour - 1, verdict: "valid" },
      { at: hour - 1, verdict: "rate_limited" },
      { at: hour, verdict: "valid" },
      { at: hour + HOUR - 1, verdict: "expired" },
      { at: hour + HOUR, verdict: "valid" },
    ]);
    const from = new Date(hour - HOUR).toISOString();
    const to = new Date(hour + HOUR).toISOString();
    const usage = await keyUsage(key.id, `?from=${from}&to=${to}`);
    expect(usage.series).toEqual([
      { start: from, admitted: 1, units: 0, rate_limited: 1, refused: {} },
      { start: new Date(hour).toISOString(), admitted: 1, units: 0, rate_limited: 0, refused: { expired_key: 1 } },
      { start: to, admitted: 1, units: 0, rate_limited: 0, refused: {} },
    ]);
    expect(usage.to).toBe(new Date(hour + 2 * HOUR).toISOString());
  });

  it("keeps the last 200 events: the 201st pushes out the oldest; pages go back through them", async () => {
    const key = await createKey();
    const start = systemClock.now() - 10_000;
    await recordAt(key.id, Array.from({ length: 201 }, (_, i) => ({ at: start + i, verdict: "valid", path: `/e/${i}` })));
    const paths: string[] = [];
    let cursor: string | null = null;
    do {
      const page: List<{ path: string }> = await json(await admin("GET", `/keys/${key.id}/events?limit=100${cursor ? `&cursor=${cursor}` : ""}`), 200);
      paths.push(...page.data.map((e) => e.path));
      cursor = page.next_cursor;
    } while (cursor);
    expect(paths).toHaveLength(200);
    expect(paths[0]).toBe("/e/200");
    expect(paths.at(-1)).toBe("/e/1");
    // Read from memory, written by the next write: the 201 events in one write, so one row.
    const guard = env.KEY_GUARD.getByName(key.id);
    const before = await guard.storageStats();
    await runDueWrite(key.id);
    expect((await guard.storageStats()).rowsWritten - before.rowsWritten).toBe(1);
  });

  it("survive the object's restart", async () => {
    const key = await createKey({ scopes: ["read"] });
    const ip = uniqueIp();
    expect(await send("/a", { "x-api-key": key.key, "cf-connecting-ip": ip })).toBe(200);
    // A refusal right after an admission waits in memory; the object's timer writes it within a second.
    expect(await send("/b", { "x-api-key": key.key, "cf-connecting-ip": ip }, "POST")).toBe(403);
    await runDueWrite(key.id);
    await evictDurableObject(env.KEY_GUARD.getByName(key.id));
    const usage = await keyUsage(key.id);
    expect(usage).toMatchObject({ requests: 1, totals: { admitted: 1, rate_limited: 0, refused: { insufficient_permissions: 1 } } });
    expect((await keyEvents(key.id)).map((e) => [e.code, e.path])).toEqual([
      ["insufficient_permissions", "/b"],
      ["valid", "/a"],
    ]);
  });
});

describe("the usage routes", () => {
  it("refuse bad ranges with 400 invalid_request", async () => {
    const key = await createKey();
    const at = (ms: number) => new Date(ms).toISOString();
    const now = systemClock.now();
    for (const query of [
      `?from=${at(now)}&to=${at(now - HOUR)}`,
      `?from=${at(now - 31 * 24 * HOUR)}&to=${at(now)}`,
      `?from=${at(now - 31 * 24 * HOUR)}&to=${at(now)}&granularity=day`,
      "?granularity=minute",
      "?from=yesterday",
    ]) {
      await expectError(await admin("GET", `/keys/${key.id}/usage${query}`), 400, "invalid_request");
      await expectError(await admin("GET", `/tenants/${key.tenant_id}/usage${query}`), 400, "invalid_request");
    }
    await expectError(await admin("GET", "/failed-attempts?ip=not-an-ip"), 400, "invalid_request");
    await expectError(await admin("GET", `/keys/${key.id}/events?cursor=abc`), 400, "invalid_request");
    expect((await keyUsage(key.id, `?from=${at(now - 30 * 24 * HOUR)}&to=${at(now)}`)).series).toHaveLength(721);
    expect((await keyUsage(key.id, `?granularity=day`)).series).toHaveLength(31);
  });

  it("show a tenant's key only its own tenant", async () => {
    const key = await createKey();
    const own = await createKey({ tenant_id: key.tenant_id, scopes: ["keys:manage"] });
    const other = await createKey({ tenant_id: (await createTenant("Other")).id, scopes: ["keys:manage"] });
    const as = (k: string, path: string) => gateway(`/_keygate/v1${path}`, { headers: { "x-api-key": k, "cf-connecting-ip": uniqueIp() } });
    expect((await as(own.key, `/keys/${key.id}/events`)).status).toBe(200);
    expect((await as(own.key, `/tenants/${key.tenant_id}/usage`)).status).toBe(200);
    await expectError(await as(other.key, `/keys/${key.id}/events`), 404, "not_found");
    await expectError(await as(other.key, `/keys/${key.id}/usage`), 404, "not_found");
    await expectError(await as(other.key, `/tenants/${key.tenant_id}/usage`), 404, "not_found");
    await expectError(await as(own.key, "/failed-attempts?ip=192.0.2.1"), 403, "insufficient_permissions");
    await expectError(await admin("GET", "/tenants/ten_0000000000/usage"), 404, "not_found");
  });
});
