import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { SlidingLog } from "../../src/guards/sliding-log";

// The sliding log on real Durable Object SQLite storage, with explicit clocks, so boundaries are
// exact to the millisecond. Each test uses its own object and its own table.

type Sql = SqlStorage;

async function inObject<R>(run: (sql: Sql) => R): Promise<R> {
  const stub = env.KEY_GUARD.getByName(`sliding-log-unit-${crypto.randomUUID()}`);
  return runInDurableObject(stub, (_instance, state) => run(state.storage.sql));
}

const rows = (sql: Sql, table: string) =>
  sql.exec<{ seq: number; ts: number }>(`SELECT seq, ts FROM ${table} ORDER BY seq`).toArray();

describe("SlidingLog", () => {
  it("counts an entry logged at t until just before t + window, and not at t + window", async () => {
    await inObject((sql) => {
      const log = new SlidingLog(sql, "unit");
      expect(log.tryAdmit(1_000, 2, 1_000)).toMatchObject({ admitted: true, remaining: 1, resetAt: 2_000, retryAfterMs: 0 });
      expect(log.tryAdmit(1_500, 2, 1_000)).toMatchObject({ admitted: true, remaining: 0, resetAt: 2_000 });
      expect(log.tryAdmit(1_999, 2, 1_000)).toMatchObject({ admitted: false, remaining: 0, resetAt: 2_000, retryAfterMs: 1 });
      // At exactly t + window the first entry has left: one slot, and the next reset is the second's.
      expect(log.tryAdmit(2_000, 2, 1_000)).toMatchObject({ admitted: true, remaining: 0, resetAt: 2_500 });
      expect(log.tryAdmit(2_499, 2, 1_000)).toMatchObject({ admitted: false, retryAfterMs: 1 });
      expect(log.tryAdmit(2_500, 2, 1_000)).toMatchObject({ admitted: true, resetAt: 3_000 });
    });
  });

  it("does not log refusals, and the table holds only the entries still in the window", async () => {
    await inObject((sql) => {
      const log = new SlidingLog(sql, "unit");
      for (let now = 0; now < 100; now++) log.tryAdmit(now, 3, 1_000);
      expect(rows(sql, "unit").map((r) => r.ts)).toEqual([0, 1, 2]);
      // Long after: the old entries are dropped from storage as soon as the log is next used.
      expect(log.peek(5_000, 3, 1_000)).toMatchObject({ admitted: true, remaining: 3, resetAt: 5_000 });
      expect(rows(sql, "unit")).toEqual([]);
    });
  });

  it("reloads exactly from storage, including after its memory was compacted", async () => {
    await inObject((sql) => {
      // Two logs see the same requests; one lives on, the other is reloaded from its table every
      // 97 requests (as after an eviction). A rolling 10 per 100 ms over 2,000 requests drops and
      // compacts hundreds of times; the two must never disagree.
      const kept = new SlidingLog(sql, "kept");
      let reloaded = new SlidingLog(sql, "reloaded");
      let admitted = 0;
      for (let i = 0; i < 2_000; i++) {
        if (i % 97 === 0) reloaded = new SlidingLog(sql, "reloaded");
        const now = i * 7;
        const a = kept.tryAdmit(now, 10, 100);
        expect(reloaded.tryAdmit(now, 10, 100)).toEqual(a);
        if (a.admitted) admitted++;
      }
      expect(admitted).toBeGreaterThan(800);
      expect(admitted).toBeLessThan(2_000);

      const stored = rows(sql, "reloaded");
      expect(stored.map((r) => r.ts)).toEqual(rows(sql, "kept").map((r) => r.ts));
      expect(stored.length).toBe(kept.count);
      expect(stored.length).toBeLessThanOrEqual(10);
      // Sequence numbers stay contiguous, so the range delete removes exactly the expired ones.
      stored.forEach((row, i) => expect(row.seq).toBe(stored[0]!.seq + i));
    });
  });

  it("never runs backwards when the clock does: the entry is logged at the newest time and leaves no earlier", async () => {
    await inObject((sql) => {
      const log = new SlidingLog(sql, "unit");
      log.tryAdmit(10_000, 3, 1_000);
      const state = log.tryAdmit(9_000, 3, 1_000); // the clock stepped back a second
      expect(state).toMatchObject({ admitted: true, remaining: 1, resetAt: 11_000 });
      expect(rows(sql, "unit").map((r) => r.ts)).toEqual([10_000, 10_000]);
      // Nothing left early: at 10,999 both still count; at 11,000 both are gone.
      expect(log.peek(10_999, 3, 1_000).remaining).toBe(1);
      expect(log.peek(11_000, 3, 1_000).remaining).toBe(3);
    });
  });

  it("applies a lower limit at once, and a limit raised again in the same window still counts every entry", async () => {
    await inObject((sql) => {
      const log = new SlidingLog(sql, "unit");
      for (let i = 0; i < 5; i++) expect(log.tryAdmit(100 + i, 5, 1_000).admitted).toBe(true);

      // Down to 2: five entries are in the window, so nothing until only one is left, which is
      // when the fourth (logged at 103) leaves.
      expect(log.tryAdmit(200, 2, 1_000)).toMatchObject({ admitted: false, remaining: 0, resetAt: 1_103, retryAfterMs: 903 });
      expect(log.tryAdmit(1_102, 2, 1_000).admitted).toBe(false);
      expect(log.peek(1_103, 2, 1_000)).toMatchObject({ admitted: true, remaining: 1 });

      // Back up to 6 within the window of the first five: exactly one more fits, not four.
      const fresh = new SlidingLog(sql, "raised");
      for (let i = 0; i < 5; i++) fresh.tryAdmit(100 + i, 5, 1_000);
      expect(fresh.tryAdmit(200, 2, 1_000).admitted).toBe(false);
      expect(fresh.tryAdmit(201, 6, 1_000)).toMatchObject({ admitted: true, remaining: 0, resetAt: 1_100 });
      expect(fresh.tryAdmit(202, 6, 1_000).admitted).toBe(false);
    });
  });

  it("applies a raised limit at once", async () => {
    await inObject((sql) => {
      const log = new SlidingLog(sql, "unit");
      log.tryAdmit(0, 1, 60_000);
      expect(log.tryAdmit(1, 1, 60_000).admitted).toBe(false);
      expect(log.tryAdmit(2, 3, 60_000)).toMatchObject({ admitted: true, remaining: 1, resetAt: 60_000 });
    });
  });
});
