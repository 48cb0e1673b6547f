import { bucketEnd, bucketWidthMs } from "../authority/window";
import { NO_RESERVATION } from "../counting/reservation";
import { ledgerTable, putChunk } from "./key-ledger";
import { windowTable } from "./window-rows";
import { ATTEMPT_EVENTS } from "../usage/attempt-log";
import type { CodeCounts } from "../usage/buckets";
import { eventChunkTable } from "../usage/event-ring";
import { EMPTY_USAGE, KEY_EVENTS, type KeyEvent, type UsageState } from "../usage/key-usage";
import type { StorageStep } from "./versions";

/**
 * Copies events stored one row each (`seq` and a column per field, releases up to 0.3) into one
 * chunk of the new ring (see usage/event-ring.ts), keeping their numbers. The old table is left
 * as it was, for the release before this one while a deploy rolls out.
 */
function copyEventsToChunks(sql: SqlStorage, from: string, to: string, bound: number): void {
  sql.exec(eventChunkTable(to));
  const rows = sql.exec<Record<string, SqlStorageValue>>(`SELECT * FROM ${from} ORDER BY seq DESC LIMIT ?`, bound).toArray().reverse();
  if (rows.length === 0) return;
  const firstSeq = rows[0]!.seq as number;
  const events = rows.map(({ seq: _seq, ...event }) => event);
  sql.exec(`INSERT INTO ${to} (slot, chunk, first_seq, events) VALUES (0, 0, ?, ?)`, firstSeq, JSON.stringify(events));
}

/**
 * Copies a sliding log of one row per admission (`seq, ts`, releases up to 0.3) into the sliding
 * window's table (`slot, end_at, count`), counted at the width the policy's limit asks for, so a
 * key mid-window keeps exactly what it had used. The old table is left as it was: the release
 * before this one may still serve the object while a deploy rolls out.
 */
function copyLogToWindow(sql: SqlStorage, from: string, limit: number, windowMs: number): void {
  sql.exec(windowTable("window_entries"));
  // A log longer than an exact window may hold (a limit lowered mid-window) is bucketed too: each
  // request then counts until its bucket's end, later than it would have, never earlier.
  const logged = sql.exec<{ n: number }>(`SELECT count(*) AS n FROM ${from}`).one().n;
  const widthMs = bucketWidthMs(Math.max(limit, logged), windowMs);
  const counts = new Map<number, number>();
  for (const { ts } of sql.exec<{ ts: number }>(`SELECT ts FROM ${from} ORDER BY seq`)) {
    const end = bucketEnd(ts, widthMs);
    counts.set(end, (counts.get(end) ?? 0) + 1);
  }
  let slot = 0;
  for (const [end, count] of counts) sql.exec("INSERT INTO window_entries (slot, end_at, count) VALUES (?, ?, ?)", slot++, end, count);
}

/**
 * Moves what a key's object kept in four tables (the window's rows, the counters in `guard`, the
 * hourly counts, the event chunks) into the first chunk of its ledger (object-storage/key-ledger.ts), so
 * that from now on every write is one row. The old tables are left as they were, for the release
 * before this one while a deploy rolls out.
 */
function moveToLedger(sql: SqlStorage): void {
  sql.exec(ledgerTable());
  const guard = sql
    .exec<{ requests: number; rate_limited: number; last_used_at: number | null; last_used_ip: string | null; last_used_country: string | null; key_id: string | null; tenant_id: string | null }>(
      "SELECT requests, rate_limited, last_used_at, last_used_ip, last_used_country, key_id, tenant_id FROM guard WHERE id = 1",
    )
    .toArray()[0];
  const entries = sql
    .exec<{ end_at: number; count: number }>("SELECT end_at, count FROM window_entries ORDER BY end_at")
    .toArray()
    .map((row) => ({ end: row.end_at, count: row.count, stored: 0 }));
  const hourRows = sql.exec<{ hour: number; counts: string; synced: number }>("SELECT hour, counts, synced FROM usage_hours ORDER BY hour").toArray();
  const events: KeyEvent[] = [];
  for (const chunk of sql.exec<{ first_seq: number; events: string }>("SELECT first_seq, events FROM usage_event_chunks ORDER BY chunk")) {
    (JSON.parse(chunk.events) as Omit<KeyEvent, "seq">[]).forEach((event, i) => events.push({ ...event, seq: chunk.first_seq + i } as KeyEvent));
  }
  if (!guard && entries.length === 0 && hourRows.length === 0 && events.length === 0) return;
  events.sort((a, b) => a.seq - b.seq);
  const kept = events.slice(-KEY_EVENTS);
  // Hours D1 has not taken yet are forwarded again from the first of them (D1 takes absolute counts).
  const unsynced = hourRows.filter((row) => !row.synced);
  const usage: UsageState = {
    usage: guard
      ? { requests: guard.requests, rateLimited: guard.rate_limited, lastUsedAt: guard.last_used_at, lastUsedIp: guard.last_used_ip, lastUsedCountry: guard.last_used_country }
      : EMPTY_USAGE.usage,
    owner: guard?.key_id && guard.tenant_id ? { keyId: guard.key_id, tenantId: guard.tenant_id } : null,
    nextEvent: (kept[kept.length - 1]?.seq ?? 0) + 1,
    forwardedThrough: unsynced[0]?.hour ?? hourRows[hourRows.length - 1]?.hour ?? 0,
  };
  putChunk(sql, {
    seq: 0,
    head: { ...usage, reservation: NO_RESERVATION, epochs: {} },
    entries: { default: entries },
    epochs: {},
    hours: new Map(hourRows.map((row) => [row.hour, JSON.parse(row.counts) as CodeCounts])),
    events: kept,
  });
}

/**
 * The storage upgrades of keygate's Durable Object classes (see versions.ts). Append a
 * step for every change to an object's tables; never edit or remove one that has shipped, since
 * objects that ran it will not run it again. A step only adds: the release before it may still be
 * serving the same objects while a deploy rolls out, and must keep working on what the step left.
 */

/** KeyGuard (one object per key): its policy and usage counters, and its sliding log. */
export const KEY_GUARD_STORAGE: readonly StorageStep[] = [
  // 1: the tables release 0.1.0 created without recording a version. IF NOT EXISTS adopts them as
  // they are, so a key's status, window and counters carry over untouched.
  (sql) => {
    sql.exec(`CREATE TABLE IF NOT EXISTS guard (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      policy TEXT NOT NULL,
      requests INTEGER NOT NULL DEFAULT 0,
      rate_limited INTEGER NOT NULL DEFAULT 0,
      last_used_at INTEGER)`);
    // The same table SlidingLog creates for itself if missing; here so a step can build on it.
    sql.exec("CREATE TABLE IF NOT EXISTS hits (seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL)");
  },
  // 2: usage you can see (issue 11): the last admission's address and country, who the key
  // belongs to (where its hourly counts are forwarded), hourly counts by outcome (30 days) and
  // the last 200 decisions. Existing counters stay where they are.
  (sql) => {
    sql.exec("ALTER TABLE guard ADD COLUMN last_used_ip TEXT");
    sql.exec("ALTER TABLE guard ADD COLUMN last_used_country TEXT");
    sql.exec("ALTER TABLE guard ADD COLUMN key_id TEXT");
    sql.exec("ALTER TABLE guard ADD COLUMN tenant_id TEXT");
    sql.exec("CREATE TABLE usage_hours (hour INTEGER PRIMARY KEY, counts TEXT NOT NULL, synced INTEGER NOT NULL DEFAULT 0)");
    sql.exec(`CREATE TABLE usage_events (
      seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, code TEXT NOT NULL, status INTEGER NOT NULL,
      method TEXT, path TEXT, ip TEXT, country TEXT, user_agent TEXT, request_id TEXT, carrier TEXT)`);
  },
  // 3: limits of any size and fewer rows written (issue 14): the window counts per millisecond up
  // to 4,000 requests and in buckets above, in rows reused round a ring, and the log of `hits` is
  // copied into it; the last 200 events are written a chunk per write, and copied likewise.
  (sql) => {
    const row = sql.exec<{ policy: string }>("SELECT policy FROM guard WHERE id = 1").toArray()[0];
    const policy = row ? (JSON.parse(row.policy) as { limit: number; windowSeconds: number }) : { limit: 1, windowSeconds: 1 };
    copyLogToWindow(sql, "hits", policy.limit, policy.windowSeconds * 1000);
    copyEventsToChunks(sql, "usage_events", "usage_event_chunks", KEY_EVENTS);
  },
  // 4: every write one row: the window, the counters, the hourly counts and the events move into
  // the ledger, whose rows carry them together with the reservation that covers admissions to come.
  moveToLedger,
];

/** AttemptGuard (one object per client address or email): its sliding log of attempts. */
export const ATTEMPT_GUARD_STORAGE: readonly StorageStep[] = [
  // 1: release 0.1.0's one table, adopted as it is.
  (sql) => {
    sql.exec("CREATE TABLE IF NOT EXISTS failures (seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL)");
  },
  // 2: what a client's failures were (issue 11): hourly counts by code (7 days) and the last 100
  // failures, never the key itself.
  (sql) => {
    sql.exec("CREATE TABLE attempt_hours (hour INTEGER PRIMARY KEY, counts TEXT NOT NULL, synced INTEGER NOT NULL DEFAULT 0)");
    sql.exec("CREATE TABLE attempt_events (seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, code TEXT NOT NULL, path TEXT, display TEXT)");
  },
  // 3: the same sliding window as a key's (issue 14); attempt limits are small, so it is exact
  // (a log of more than 4,000 failures, from a raised FAILED_AUTH_LIMIT, in 3.6 s buckets). The
  // last 100 failures are written a chunk per write, as a key's events are.
  (sql) => {
    copyLogToWindow(sql, "failures", 1, 3_600_000);
    copyEventsToChunks(sql, "attempt_events", "attempt_event_chunks", ATTEMPT_EVENTS);
  },
];

/** QuotaGuard (one object per tenant and environment): the quota, the period's count, the leases out. */
export const QUOTA_GUARD_STORAGE: readonly StorageStep[] = [
  (sql) => {
    sql.exec(`CREATE TABLE quota (
      id INTEGER PRIMARY KEY CHECK (id = 1), quota TEXT, version INTEGER NOT NULL, period_start INTEGER NOT NULL,
      period_end INTEGER NOT NULL, used INTEGER NOT NULL, outstanding INTEGER NOT NULL, next_lease INTEGER NOT NULL)`);
    sql.exec("CREATE TABLE leases (key_id TEXT PRIMARY KEY, lease_id INTEGER NOT NULL, granted INTEGER NOT NULL)");
  },
];
