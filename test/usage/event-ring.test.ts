import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { EventRing } from "../../src/usage/event-ring";

// The ring of event chunks on real Durable Object SQLite storage: one row per write, at most
// bound + 1 rows, the newest `bound` events readable in order, across a reload.

type Event = { at: number; path: string };

async function inObject<R>(run: (sql: SqlStorage) => R): Promise<R> {
  return runInDurableObject(env.ATTEMPT_GUARD.getByName(`event-ring-${crypto.randomUUID()}`), (_instance, state) => run(state.storage.sql));
}

const allPaths = (ring: EventRing<Event>) => {
  const paths: string[] = [];
  let before: number | null = null;
  for (;;) {
    const page = ring.page(7, before);
    paths.push(...page.rows.map((r) => r.path));
    if (!page.hasMore) return paths;
    before = page.rows.at(-1)!.seq;
  }
};

describe("EventRing", () => {
  it("writes one row per flush, reuses bound + 1 rows, and pages through exactly the newest bound events", async () => {
    await inObject((sql) => {
      let ring = new EventRing<Event>(sql, "ring", 20);
      let n = 0;
      // Writes of 1 to 4 events, 300 events in all, reloaded from storage now and then.
      for (let write = 0; n < 300; write++) {
        for (let i = 0; i <= write % 4 && n < 300; i++) ring.push({ at: n, path: `/e/${n++}` });
        const before = sql.exec<{ n: number }>("SELECT count(*) AS n FROM ring").one().n;
        ring.flush();
        const after = sql.exec<{ n: number }>("SELECT count(*) AS n FROM ring").one().n;
        expect(after - before).toBeLessThanOrEqual(1);
        if (write % 9 === 0) ring = new EventRing<Event>(sql, "ring", 20);
      }
      expect(sql.exec<{ n: number }>("SELECT count(*) AS n FROM ring").one().n).toBe(21);
      expect(allPaths(ring)).toEqual(Array.from({ length: 20 }, (_, i) => `/e/${299 - i}`));
    });
  });

  it("keeps only the newest bound events of a flood waiting for one write", async () => {
    await inObject((sql) => {
      const ring = new EventRing<Event>(sql, "ring", 5);
      for (let i = 0; i < 1_000; i++) ring.push({ at: i, path: `/e/${i}` });
      ring.flush();
      expect(allPaths(ring)).toEqual(["/e/999", "/e/998", "/e/997", "/e/996", "/e/995"]);
      expect(ring.page(2, null).rows.map((r) => r.seq)).toEqual([1_000, 999]);
    });
  });
});
