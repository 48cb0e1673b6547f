import { env } from "cloudflare:workers";
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Decision } from "../../src/authority/decision";
import { systemClock } from "../../src/clock";
import { MAX_HORIZON_MS, MAX_SHARE } from "../../src/counting/reservation";
import type { KeyGuard } from "../../src/guards/key-guard";
import { admin, createKey, errorOf, gateway, originCounts, withKey, type Created } from "../support/client";
import { policyOf, reservationOf, resetObject, runDueWrite, storedWindow } from "./support";

// A key's object decides in memory and answers at once. What makes that safe across restarts is
// the reservation it stores ahead: after any reply, storage counts every admission made, recorded
// or reserved, so an object reset at any moment never over-admits. Admin writes are stored before
// the admin call returns.

const WINDOW_MS = 60_000;

async function send(key: Created, path = "/persist"): Promise<number> {
  const res = await gateway(path, withKey(key.key));
  await res.body?.cancel();
  return res.status;
}

/** What the object's instance has written so far (rows Cloudflare would bill). */
const rowsWritten = (key: Created) => env.KEY_GUARD.getByName(key.id).storageStats().then((s) => s.rowsWritten);

describe("admissions are stored ahead of their replies", () => {
  it("after every reply, storage counts every admission made: recorded, or covered by the stored reservation", async () => {
    const key = await createKey({ rate_limit: { limit: 200, window_seconds: 60 } });
    let reservedAtSomeReply = false;
    for (let admitted = 1; admitted <= 40; admitted++) {
      expect(await send(key)).toBe(200);
      const stored = await storedWindow(key.id, WINDOW_MS);
      expect(stored.recorded + stored.reserved).toBeGreaterThanOrEqual(admitted);
      if (stored.recorded < admitted) reservedAtSomeReply = true;
    }
    // Some replies came before their own admission was recorded: the reservation covered them.
    expect(reservedAtSomeReply).toBe(true);
  });

  it("an admission inside a reservation is answered without writing anything; the reservation already counts it", async () => {
    const key = await createKey({ rate_limit: { limit: 200, window_seconds: 60 } });
    // A few requests give the object a rate to size a reservation by.
    for (let i = 0; i < 3; i++) expect(await send(key)).toBe(200);
    const stub = env.KEY_GUARD.getByName(key.id);
    expect((await reservationOf(key.id)).admissions).toBeGreaterThan(0);
    const { decision, written } = await runInDurableObject(stub, (instance: KeyGuard) => {
      const counter = instance as unknown as { rowsWritten: number };
      const before = counter.rowsWritten;
      const made = instance.decide(["read"], undefined) as Decision;
      return { decision: made, written: counter.rowsWritten - before };
    });
    expect(decision.verdict).toBe("valid");
    // Nothing was written before the answer, so nothing could hold it back (on Cloudflare the
    // output gate holds a reply only for writes made before it).
    expect(written).toBe(0);
    const stored = await storedWindow(key.id, WINDOW_MS);
    expect(stored.recorded + stored.reserved).toBeGreaterThanOrEqual(4);
  });

  it("an admission outside any reservation is written before its reply", async () => {
    const key = await createKey({ rate_limit: { limit: 200, window_seconds: 60 } });
    const stub = env.KEY_GUARD.getByName(key.id);
    expect(await send(key)).toBe(200);
    // A fresh object knows no rate yet: it reserves nothing ahead, so each decision is written first.
    await evictDurableObject(stub);
    const { written, recorded } = await runInDurableObject(stub, (instance: KeyGuard, state) => {
      const counter = instance as unknown as { rowsWritten: number };
      const before = counter.rowsWritten;
      instance.decide(["read"], undefined);
      const rows = state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM ledger").one().n;
      return { written: counter.rowsWritten - before, recorded: rows };
    });
    expect(written).toBe(1);
    expect(recorded).toBeGreaterThan(0);
    const stored = await storedWindow(key.id, WINDOW_MS);
    expect(stored.recorded).toBe(2);
  });

  it("resetting the object right after replies never over-admits, and the next request is refused", async () => {
    const limit = 60;
    const key = await createKey({ rate_limit: { limit, window_seconds: 600 } });
    const before = (await originCounts())[key.id] ?? 0;
    let resets = 0;
    const statuses: number[] = [];
    // Bursts of a few requests (enough for the object to reserve ahead), each followed by a reset.
    for (let burst = 0; burst < 20; burst++) {
      for (let i = 0; i < 4; i++) statuses.push(await send(key, "/reset"));
      await resetObject(key.id);
      resets++;
    }
    const admitted = ((await originCounts())[key.id] ?? 0) - before;
    expect(statuses.filter((s) => s === 200)).toHaveLength(admitted);
    expect(admitted).toBeLessThanOrEqual(limit);
    // Each reset may cost what one reservation held (at most MAX_SHARE of the limit).
    expect(admitted).toBeGreaterThanOrEqual(limit - resets * Math.floor(limit * MAX_SHARE));
    expect(await send(key, "/reset")).toBe(429);
  });

  it("a restart costs at most one reservation: never more than MAX_SHARE of the limit", async () => {
    const limit = 100;
    const key = await createKey({ rate_limit: { limit, window_seconds: 600 } });
    for (let i = 0; i < 10; i++) expect(await send(key)).toBe(200);
    await resetObject(key.id);
    const res = await gateway("/persist", withKey(key.key));
    await res.body?.cancel();
    expect(res.status).toBe(200);
    const remaining = Number(res.headers.get("x-ratelimit-remaining"));
    expect(remaining).toBeLessThanOrEqual(limit - 11);
    expect(remaining).toBeGreaterThanOrEqual(limit - 11 - limit * MAX_SHARE);
  });

  it("a key whose limit is under 20 stores each admission before replying: a restart at any moment costs nothing", async () => {
    const key = await createKey({ rate_limit: { limit: 5, window_seconds: 600 } });
    for (let i = 0; i < 3; i++) {
      expect(await send(key)).toBe(200);
      expect(await storedWindow(key.id, 600_000)).toEqual({ recorded: i + 1, reserved: 0 });
    }
    await resetObject(key.id);
    const res = await gateway("/persist", withKey(key.key));
    await res.body?.cancel();
    expect(res.headers.get("x-ratelimit-remaining")).toBe("1");
    expect(await send(key)).toBe(200);
    expect(await send(key)).toBe(429);
  });

  it("a key that falls quiet releases its unused reservation, so a later restart costs nothing", async () => {
    const limit = 100;
    const key = await createKey({ rate_limit: { limit, window_seconds: 3_600 } });
    for (let i = 0; i < 6; i++) expect(await send(key)).toBe(200);
    // The write after the last replies, as its timer runs it: the reservation is renewed...
    await runDueWrite(key.id);
    expect((await storedWindow(key.id, 3_600_000)).reserved).toBeGreaterThan(0);
    // ...and its end passes without another request: the timer's next write releases it.
    systemClock.advance(MAX_HORIZON_MS + 1);
    await runDueWrite(key.id);
    expect(await storedWindow(key.id, 3_600_000)).toEqual({ recorded: 6, reserved: 0 });
    await evictDurableObject(env.KEY_GUARD.getByName(key.id));
    const res = await gateway("/persist", withKey(key.key));
    await res.body?.cancel();
    expect(res.headers.get("x-ratelimit-remaining")).toBe(String(limit - 7));
  });

  it("refusals over the limit add nothing to the window; a flood of them is one write", async () => {
    const key = await createKey({ rate_limit: { limit: 2, window_seconds: 60 } });
    expect([await send(key), await send(key)]).toEqual([200, 200]);
    const before = await rowsWritten(key);
    const started = Date.now();
    for (let i = 0; i < 20; i++) expect(await send(key)).toBe(429);
    const seconds = (Date.now() - started) / 1000;
    await runDueWrite(key.id);
    // Their usage is written at most once a second (plus the first, right after its reply).
    expect((await rowsWritten(key)) - before).toBeLessThanOrEqual(2 + Math.floor(seconds));
    expect(await storedWindow(key.id, WINDOW_MS)).toEqual({ recorded: 2, reserved: 0 });
  });
});

describe("admin writes are durable before the admin call returns", () => {
  it("a revocation is stored when the call returns: an object reset at once refuses the key", async () => {
    const key = await createKey();
    expect(await send(key)).toBe(200);
    expect((await admin("POST", `/keys/${key.id}/revoke`)).status).toBe(200);
    await resetObject(key.id);
    const res = await gateway("/persist", withKey(key.key));
    expect(res.status).toBe(401);
    expect((await errorOf(res)).error.code).toBe("revoked_key");
  });

  it("a limit change is stored with the admissions still waiting in memory", async () => {
    const key = await createKey({ rate_limit: { limit: 50, window_seconds: 60 } });
    for (let i = 0; i < 4; i++) expect(await send(key)).toBe(200);
    expect((await admin("PATCH", `/keys/${key.id}`, { rate_limit: { limit: 5, window_seconds: 60 } })).status).toBe(200);
    // Written with the new limit before the call returned: the four admissions, and no reservation
    // (a limit under 20 reserves nothing ahead).
    expect(await storedWindow(key.id, WINDOW_MS)).toEqual({ recorded: 4, reserved: 0 });
    await resetObject(key.id);
    expect([await send(key), await send(key)]).toEqual([200, 429]);
  });

  it("a key seeded from its snapshot answers the same after a reset", async () => {
    const key = await createKey({ rate_limit: { limit: 3, window_seconds: 60 } });
    const stub = env.KEY_GUARD.getByName(key.id);
    expect((await stub.decide(["read"], policyOf(key)))?.verdict).toBe("valid");
    await resetObject(key.id);
    expect([await send(key), await send(key), await send(key)]).toEqual([200, 200, 429]);
  });
});
