import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { BUCKETS_PER_WINDOW, EXACT_LIMIT, MAX_LIMIT, MAX_WINDOW_SECONDS } from "../../src/authority/window";
import { SlidingWindow } from "../../src/counting/sliding-window";
import { SLOTS, WindowRows } from "../../src/object-storage/window-rows";

// The sliding window on real Durable Object SQLite storage (rows reused round a ring, as the
// attempt counters store it), with explicit clocks, so boundaries are exact to the millisecond.
// Each test uses its own object and its own table.

type Sql = SqlStorage;

type StoredWindow = SlidingWindow & { flush(): void };

/** A window loaded from `table` (what a restarted object would load), whose `flush()` writes what changed. */
function storedWindow(sql: Sql, table: string, countedAfter?: number): StoredWindow {
  const rows = new WindowRows(sql, table);
  const window = new SlidingWindow(rows.load(countedAfter), countedAfter) as StoredWindow;
  window.flush = () => rows.write(window.takeChanges());
  return window;
}

async function inObject<R>(run: (sql: Sql) => R): Promise<R> {
  const stub = env.KEY_GUARD.getByName(`window-unit-${crypto.randomUUID()}`);
  return runInDurableObject(stub, (_instance, state) => run(state.storage.sql));
}

const rows = (sql: Sql, table: string) =>
  sql.exec<{ slot: number; end_at: number; count: number }>(`SELECT slot, end_at, count FROM ${table} ORDER BY end_at`).toArray();
const counted = (sql: Sql, table: string, after: number) => rows(sql, table).filter((r) => r.end_at > after).reduce((n, r) => n + r.count, 0);

/** Admits in one window, flushing after every decision as the attempt counter does. */
function admitAll(window: StoredWindow, times: number[], limit: number, windowMs: number): number[] {
  const admitted: number[] = [];
  for (const now of times) {
    if (window.tryAdmit(now, limit, windowMs).admitted) admitted.push(now);
    window.flush();
  }
  return admitted;
}

/** The most admissions any window `(t - windowMs, t]` holds: never above the limit. */
function busiestWindow(admitted: number[], windowMs: number): number {
  let most = 0;
  let first = 0;
  for (let last = 0; last < admitted.length; last++) {
    while (admitted[first]! <= admitted[last]! - windowMs) first++;
    most = Math.max(most, last - first + 1);
  }
  return most;
}

describe("SlidingWindow, exact (limits up to EXACT_LIMIT)", () => {
  it("counts a request made at t until just before t + window, and not at t + window", async () => {
    await inObject((sql) => {
      const w = storedWindow(sql, "unit");
      expect(w.tryAdmit(1_000, 2, 1_000)).toMatchObject({ admitted: true, remaining: 1, resetAt: 2_000, retryAfterMs: 0 });
      expect(w.tryAdmit(1_500, 2, 1_000)).toMatchObject({ admitted: true, remaining: 0, resetAt: 2_000 });
      expect(w.tryAdmit(1_999, 2, 1_000)).toMatchObject({ admitted: false, remaining: 0, resetAt: 2_000, retryAfterMs: 1 });
      // At exactly t + window the first has left: one slot, and the next reset is the second's.
      expect(w.tryAdmit(2_000, 2, 1_000)).toMatchObject({ admitted: true, remaining: 0, resetAt: 2_500 });
      expect(w.tryAdmit(2_499, 2, 1_000)).toMatchObject({ admitted: false, retryAfterMs: 1 });
      expect(w.tryAdmit(2_500, 2, 1_000)).toMatchObject({ admitted: true, resetAt: 3_000 });
    });
  });

  it("writes nothing until flushed, then one row per admitted millisecond; refusals are never stored", async () => {
    await inObject((sql) => {
      const w = storedWindow(sql, "unit");
      for (let now = 0; now < 100; now++) w.tryAdmit(now, 3, 1_000);
      w.tryAdmit(100, 3, 1_000);
      expect(rows(sql, "unit")).toEqual([]);
      expect(w.dirty).toBe(true);
      w.flush();
      expect(rows(sql, "unit").map((r) => [r.end_at, r.count])).toEqual([[0, 1], [1, 1], [2, 1]]);
      expect(w.dirty).toBe(false);
    });
  });

  it("reloads exactly from storage, taking only what can still count", async () => {
    await inObject((sql) => {
      // Two windows see the same requests; one lives on, the other is reloaded from its table
      // every 97 requests (as after an eviction). A rolling 10 per 100 ms over 2,000 requests
      // wraps and reuses rows many times; the two must never disagree.
      const kept = storedWindow(sql, "kept");
      let reloaded = storedWindow(sql, "reloaded");
      let admitted = 0;
      for (let i = 0; i < 2_000; i++) {
        const now = i * 7;
        if (i % 97 === 0) reloaded = storedWindow(sql, "reloaded", now - 100);
        const a = kept.tryAdmit(now, 10, 100);
        expect(reloaded.tryAdmit(now, 10, 100)).toEqual(a);
        reloaded.flush();
        if (a.admitted) admitted++;
      }
      expect(admitted).toBeGreaterThan(800);
      expect(admitted).toBeLessThan(2_000);
    });
  });

  it("reuses rows round a ring: storage never grows past SLOTS rows and never needs a delete", async () => {
    await inObject((sql) => {
      const w = storedWindow(sql, "unit");
      // 10 per 100 ms, one request every 10 ms: each one fits, each one a new row.
      const admitted = admitAll(w, Array.from({ length: SLOTS + 500 }, (_, i) => i * 10), 10, 100);
      expect(admitted).toHaveLength(SLOTS + 500);
      expect(rows(sql, "unit")).toHaveLength(SLOTS);
      // The live ones are the newest, and a reload counts exactly them.
      const now = (SLOTS + 500) * 10;
      expect(counted(sql, "unit", now - 100)).toBe(9);
      expect(storedWindow(sql, "unit", now - 100).peek(now, 10, 100).remaining).toBe(1);
    });
  });

  it("never runs backwards when the clock does: the request counts at the newest time and leaves no earlier", async () => {
    await inObject((sql) => {
      const w = storedWindow(sql, "unit");
      w.tryAdmit(10_000, 3, 1_000);
      const state = w.tryAdmit(9_000, 3, 1_000); // the clock stepped back a second
      expect(state).toMatchObject({ admitted: true, remaining: 1, resetAt: 11_000 });
      w.flush();
      expect(rows(sql, "unit").map((r) => [r.end_at, r.count])).toEqual([[10_000, 2]]);
      expect(w.peek(10_999, 3, 1_000).remaining).toBe(1);
      expect(w.peek(11_000, 3, 1_000).remaining).toBe(3);
    });
  });

  it("applies a lower limit at once, and a limit raised again in the same window still counts every request", async () => {
    await inObject((sql) => {
      const w = storedWindow(sql, "unit");
      for (let i = 0; i < 5; i++) expect(w.tryAdmit(100 + i, 5, 1_000).admitted).toBe(true);
      // Down to 2: five are in the window, so nothing until only one is left (the fourth, at 103, leaves).
      expect(w.tryAdmit(200, 2, 1_000)).toMatchObject({ admitted: false, remaining: 0, resetAt: 1_103, retryAfterMs: 903 });
      expect(w.tryAdmit(1_102, 2, 1_000).admitted).toBe(false);
      expect(w.peek(1_103, 2, 1_000)).toMatchObject({ admitted: true, remaining: 1 });

      const fresh = storedWindow(sql, "raised");
      for (let i = 0; i < 5; i++) fresh.tryAdmit(100 + i, 5, 1_000);
      expect(fresh.tryAdmit(200, 2, 1_000).admitted).toBe(false);
      expect(fresh.tryAdmit(201, 6, 1_000)).toMatchObject({ admitted: true, remaining: 0, resetAt: 1_100 });
      expect(fresh.tryAdmit(202, 6, 1_000).admitted).toBe(false);
    });
  });

  it("applies a raised limit at once", async () => {
    await inObject((sql) => {
      const w = storedWindow(sql, "unit");
      w.tryAdmit(0, 1, 60_000);
      expect(w.tryAdmit(1, 1, 60_000).admitted).toBe(false);
      expect(w.tryAdmit(2, 3, 60_000)).toMatchObject({ admitted: true, remaining: 1, resetAt: 60_000 });
    });
  });
});

describe("SlidingWindow, bucketed (limits above EXACT_LIMIT)", () => {
  it("admits exactly the limit of a burst: 20,500 requests at 20,000 per hour", async () => {
    await inObject((sql) => {
      const w = storedWindow(sql, "unit");
      const times = Array.from({ length: 20_500 }, (_, i) => 1_000_000 + Math.floor(i / 3));
      const admitted = admitAll(w, times, 20_000, 3_600_000);
      expect(admitted).toHaveLength(20_000);
      // 3.6 s buckets: the 6.8 s burst sits in at most three of them.
      expect(rows(sql, "unit").length).toBeLessThanOrEqual(3);
      expect(counted(sql, "unit", 0)).toBe(20_000);
    });
  });

  it("never over-admits, and refuses only when the window stretched by one bucket is full", async () => {
    await inObject((sql) => {
      const limit = 5_000;
      const windowMs = 100_000;
      const bucketMs = windowMs / BUCKETS_PER_WINDOW;
      // Bursts and lulls over three windows, from a seeded generator so a failure can be replayed.
      let seed = 42;
      const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
      const times: number[] = [];
      for (let now = 0; now < 3 * windowMs; now += random() < 0.97 ? 1 : Math.floor(random() * 400)) times.push(now);
      const w = storedWindow(sql, "unit");
      const admitted = new Set<number>();
      const admittedTimes: number[] = [];
      for (let i = 0; i < times.length; i++) {
        const now = times[i]!;
        if (w.tryAdmit(now, limit, windowMs).admitted) {
          admittedTimes.push(now);
          admitted.add(i);
        } else {
          // Under-admission only at the edge: an exact window one bucket longer is full.
          let inStretched = 0;
          for (let j = admittedTimes.length - 1; j >= 0 && admittedTimes[j]! > now - windowMs - bucketMs; j--) inStretched++;
          expect(inStretched).toBeGreaterThanOrEqual(limit);
        }
        if (i % 50 === 0) w.flush();
      }
      expect(busiestWindow(admittedTimes, windowMs)).toBe(limit);
      expect(admittedTimes.length).toBeGreaterThan(2 * limit);
      // Memory stays within the buckets one window spans.
      expect(w.entryCount).toBeLessThanOrEqual(BUCKETS_PER_WINDOW + 2);
    });
  });

  it("holds the largest limit over the longest window in at most ~1,000 buckets", async () => {
    await inObject((sql) => {
      const windowMs = MAX_WINDOW_SECONDS * 1000;
      const w = storedWindow(sql, "unit");
      // One request every 20 minutes for two windows: far more requests than buckets.
      for (let now = 0; now < 2 * windowMs; now += 1_200_000) {
        expect(w.tryAdmit(now, MAX_LIMIT, windowMs).admitted).toBe(true);
        w.flush();
      }
      expect(w.entryCount).toBeLessThanOrEqual(BUCKETS_PER_WINDOW + 2);
      expect(rows(sql, "unit").length).toBeLessThanOrEqual(SLOTS);
    });
  });

  it("re-buckets an exact window when its limit is raised past EXACT_LIMIT, without forgetting anything", async () => {
    await inObject((sql) => {
      const w = storedWindow(sql, "unit");
      const windowMs = 1_000_000;
      for (let i = 0; i < EXACT_LIMIT; i++) w.tryAdmit(i * 10, EXACT_LIMIT, windowMs);
      w.flush();
      expect(rows(sql, "unit")).toHaveLength(EXACT_LIMIT);
      // Raised to 5,000: 1 s buckets; exactly 1,000 more fit in the window.
      const raised = EXACT_LIMIT + 1_000;
      const admitted = admitAll(w, Array.from({ length: 1_500 }, (_, i) => 50_000 + i), raised, windowMs);
      expect(admitted).toHaveLength(1_000);
      expect(counted(sql, "unit", 0)).toBe(raised);
      expect(rows(sql, "unit").length).toBeLessThanOrEqual(52);
      // A reload agrees, and lowering the limit again counts every bucketed request.
      const reloaded = storedWindow(sql, "unit", 50_000 - windowMs);
      expect(reloaded.peek(52_000, raised, windowMs)).toMatchObject({ admitted: false, remaining: 0 });
      expect(reloaded.peek(52_000, 10, windowMs)).toMatchObject({ admitted: false, remaining: 0 });
    });
  });
});
