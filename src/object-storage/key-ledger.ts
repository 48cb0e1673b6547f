import type { Span } from "../counting/calendar";
import type { CreditBalance } from "../counting/credits";
import type { Reservation } from "../counting/reservation";
import type { WindowChanges, WindowEntry } from "../counting/sliding-window";
import type { CodeCounts } from "../usage/buckets";
import type { CountedHour, KeyEvent, UsageState } from "../usage/key-usage";

/**
 * A key's object stores everything it decides in one table, the ledger, and every write it makes
 * is ONE row (Cloudflare bills rows written): the window's new entries, the reservation that covers
 * the admissions to come, the usage counters, the hour's counts and the new events, together.
 *
 * The ledger is a ring of LEDGER_SLOTS chunks. A write rewrites the open chunk (the newest), or,
 * once that one holds CHUNK_RECORDS records of its own, opens the next chunk in the ring. The chunk
 * a new one replaces may still hold records that matter (an entry still in its window, an hour
 * within retention, an event among the last KEY_EVENTS): those are carried into the new chunk, in
 * the same row. So storage never needs a DELETE, holds at most LEDGER_SLOTS rows, and a start reads
 * them all: the newest chunk's `head` is the object's state, and every record's latest copy is in
 * the newest chunk that has it.
 */
export const LEDGER_SLOTS = 32;
/** Records a chunk takes from writes (carried ones not counted) before the next write opens another. */
export const CHUNK_RECORDS = 64;

export function ledgerTable(): string {
  return `CREATE TABLE IF NOT EXISTS ledger (
    slot INTEGER PRIMARY KEY, seq INTEGER NOT NULL, head TEXT NOT NULL, entries TEXT NOT NULL,
    hours TEXT NOT NULL, events TEXT NOT NULL, last_event INTEGER NOT NULL)`;
}

/** A lease of the tenant's quota as the key's object holds it: granted units, and how many it spent. */
export interface HeldLease {
  id: number;
  granted: number;
  spent: number;
  period: Span;
}

/** The object's state beside its records: what the newest chunk says. */
export interface LedgerHead extends UsageState {
  /** Admissions that may have been made after the recorded ones (see counting/reservation.ts). */
  reservation: Reservation;
  /** The key's credits (null: it spends none), as of the recorded admissions. */
  credits?: CreditBalance | null;
  /** The lease of the tenant's quota it spends from, as of the recorded admissions. */
  lease?: HeldLease | null;
  /** A lease being given back: never to be spent again, reported to the quota object with the next ask. */
  closing?: { id: number; spent: number } | null;
  /**
   * Per window, how many times its entries were rewritten whole (after re-bucketing): entries
   * written before the latest rewrite are void.
   */
  epochs: Record<string, number>;
}

/** What a start finds. */
export interface LoadedLedger {
  head: LedgerHead | null;
  entries: Map<string, WindowEntry[]>;
  hours: Map<number, CountedHour>;
}

/**
 * One write: the head as it is now, what changed since the last write, and (read only when a chunk
 * is about to be replaced, to carry what it still holds) what is live.
 */
export interface LedgerWrite {
  head: LedgerHead;
  windows: { name: string; changes: WindowChanges; live: () => readonly WindowEntry[] }[];
  /** Every hour kept. */
  hours: Map<number, CountedHour>;
  /** Hours whose counts changed since the last write. */
  changedHours: readonly number[];
  events: KeyEvent[];
}

/** What is past keeping, for a chunk's carried records. */
export interface Retention {
  /** Hours at or before this are past retention. */
  hoursAfter: number;
  /** Events numbered below this are no longer among the kept ones. */
  oldestEvent: number;
}

type EntriesJson = Record<string, { e: number; x: number[] }>;

type LedgerRow = {
  slot: number;
  seq: number;
  head: string;
  entries: string;
  hours: string;
  events: string;
  last_event: number;
};

/** The chunk this instance writes to; rewritten whole on every write. */
interface OpenChunk {
  seq: number;
  /** Records taken from writes (see CHUNK_RECORDS). */
  taken: number;
  entries: Map<string, { epoch: number; counts: Map<number, number> }>;
  hours: Map<number, CodeCounts>;
  events: KeyEvent[];
}

export class KeyLedger {
  private open: OpenChunk | null = null;
  /** The newest chunk's number (-1: none yet). */
  private newestSeq = -1;
  /** Events of chunks that may still hold kept ones, as stored (parsed when read or carried). */
  private readonly storedEvents = new Map<number, { lastEvent: number; json: string | null; events: KeyEvent[] | null }>();

  constructor(private readonly sql: SqlStorage) {
    sql.exec(ledgerTable());
  }

  /**
   * Reads every chunk, oldest first, keeping each record's latest copy; entries and hours past
   * `live` are dropped. Events are kept unread until asked for.
   */
  load(live: { windowStarts: (name: string) => number; hoursAfter: number; oldestEvent: (head: LedgerHead) => number }): LoadedLedger {
    const rows = this.sql.exec<LedgerRow>("SELECT slot, seq, head, entries, hours, events, last_event FROM ledger ORDER BY seq").toArray();
    const newest = rows[rows.length - 1];
    if (!newest) return { head: null, entries: new Map(), hours: new Map() };
    const head = JSON.parse(newest.head) as LedgerHead;
    this.newestSeq = newest.seq;
    const entries = new Map<string, Map<number, WindowEntry>>();
    const hours = new Map<number, CountedHour>();
    for (const row of rows) {
      for (const [name, { e: epoch, x: flat }] of Object.entries(JSON.parse(row.entries) as EntriesJson)) {
        if (epoch < (head.epochs[name] ?? 0)) continue;
        const starts = live.windowStarts(name);
        let byEnd = entries.get(name);
        if (!byEnd) entries.set(name, (byEnd = new Map()));
        for (let i = 0; i < flat.length; i += 2) {
          const end = flat[i]!;
          if (end > starts) byEnd.set(end, { end, count: flat[i + 1]!, stored: row.seq });
        }
      }
      for (const [hour, counts] of JSON.parse(row.hours) as [number, CodeCounts][]) {
        if (hour > live.hoursAfter) hours.set(hour, { counts, stored: row.seq });
      }
      if (row.last_event >= live.oldestEvent(head)) {
        this.storedEvents.set(row.seq, { lastEvent: row.last_event, json: row.events, events: null });
      }
    }
    return { head, entries: new Map([...entries].map(([name, byEnd]) => [name, [...byEnd.values()]])), hours };
  }

  /**
   * Writes one row: the open chunk with this write's changes, or a new chunk with them and
   * whatever the chunk it replaces still holds live. Records written get the chunk's number as
   * their `stored` mark. The caller's transaction (the object's implicit one) holds it.
   */
  write(write: LedgerWrite, retention: Retention): void {
    const changes = countRecords(write);
    if (!this.open || this.open.taken >= CHUNK_RECORDS) this.openNext(write, retention);
    const chunk = this.open!;
    chunk.taken += changes;
    for (const { name, changes: windowChanges } of write.windows) {
      let stored = chunk.entries.get(name);
      const epoch = write.head.epochs[name] ?? 0;
      if (!stored || windowChanges.rewrite) chunk.entries.set(name, (stored = { epoch, counts: new Map() }));
      stored.epoch = epoch;
      for (const entry of windowChanges.entries) {
        stored.counts.set(entry.end, entry.count);
        entry.stored = chunk.seq;
      }
    }
    for (const hour of write.changedHours) {
      const record = write.hours.get(hour);
      if (!record) continue;
      chunk.hours.set(hour, record.counts);
      record.stored = chunk.seq;
    }
    chunk.events.push(...write.events);
    this.writeChunk(chunk, write.head);
  }

  /** Every kept event (numbered `oldestEvent` or later) stored so far, newest first. */
  storedEventsSince(oldestEvent: number): KeyEvent[] {
    const out: KeyEvent[] = [];
    for (const [seq, stored] of this.storedEvents) {
      if (stored.lastEvent < oldestEvent) {
        this.storedEvents.delete(seq);
        continue;
      }
      for (const event of eventsOf(stored)) if (event.seq >= oldestEvent) out.push(event);
    }
    if (this.open) for (const event of this.open.events) if (event.seq >= oldestEvent) out.push(event);
    return out.sort((a, b) => b.seq - a.seq);
  }

  /** Opens the chunk after the newest, carrying what the one it replaces still holds live. */
  private openNext(write: LedgerWrite, retention: Retention): void {
    if (this.open) this.storedEvents.set(this.open.seq, { lastEvent: lastEventOf(this.open.events), json: null, events: this.open.events });
    const seq = this.newestSeq + 1;
    const replaced = seq - LEDGER_SLOTS;
    const chunk: OpenChunk = { seq, taken: 0, entries: new Map(), hours: new Map(), events: [] };
    if (replaced >= 0) {
      for (const { name, live: entries } of write.windows) {
        const carried = entries().filter((entry) => entry.stored === replaced);
        if (carried.length === 0) continue;
        const counts = new Map<number, number>();
        for (const entry of carried) {
          counts.set(entry.end, entry.count);
          entry.stored = seq;
        }
        // Live when carried: they belong to the window's current epoch.
        chunk.entries.set(name, { epoch: write.head.epochs[name] ?? 0, counts });
      }
      for (const [hour, record] of write.hours) {
        if (record.stored !== replaced || hour <= retention.hoursAfter) continue;
        chunk.hours.set(hour, record.counts);
        record.stored = seq;
      }
      const events = this.storedEvents.get(replaced);
      if (events) {
        if (events.lastEvent >= retention.oldestEvent) chunk.events.push(...eventsOf(events).filter((event) => event.seq >= retention.oldestEvent));
        this.storedEvents.delete(replaced);
      }
    }
    this.open = chunk;
    this.newestSeq = seq;
  }

  private writeChunk(chunk: OpenChunk, head: LedgerHead): void {
    const entries: Record<string, WindowEntry[]> = {};
    const epochs: Record<string, number> = {};
    for (const [name, { epoch, counts }] of chunk.entries) {
      entries[name] = [...counts].map(([end, count]) => ({ end, count, stored: chunk.seq }));
      epochs[name] = epoch;
    }
    putChunk(this.sql, { seq: chunk.seq, head, entries, epochs, hours: chunk.hours, events: chunk.events });
  }
}

/** A chunk as stored: one row, at its slot in the ring. */
export interface ChunkContent {
  seq: number;
  head: LedgerHead;
  entries: Record<string, readonly WindowEntry[]>;
  /** The epoch each window's entries here were written in. */
  epochs: Record<string, number>;
  hours: Map<number, CodeCounts>;
  events: readonly KeyEvent[];
}

/** Writes one chunk's row (an upgrade step writes the first one of a ledger this way too). */
export function putChunk(sql: SqlStorage, chunk: ChunkContent): void {
  const entries: EntriesJson = {};
  for (const [name, list] of Object.entries(chunk.entries)) {
    const flat: number[] = [];
    for (const { end, count } of list) flat.push(end, count);
    entries[name] = { e: chunk.epochs[name] ?? 0, x: flat };
  }
  sql.exec(
    `INSERT INTO ledger (slot, seq, head, entries, hours, events, last_event) VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (slot) DO UPDATE SET seq = excluded.seq, head = excluded.head, entries = excluded.entries,
       hours = excluded.hours, events = excluded.events, last_event = excluded.last_event`,
    chunk.seq % LEDGER_SLOTS,
    chunk.seq,
    JSON.stringify(chunk.head),
    JSON.stringify(entries),
    JSON.stringify([...chunk.hours]),
    JSON.stringify(chunk.events),
    lastEventOf(chunk.events),
  );
}

function countRecords(write: LedgerWrite): number {
  let n = write.events.length + write.changedHours.length;
  for (const { changes } of write.windows) n += changes.entries.length;
  return n;
}

function lastEventOf(events: readonly KeyEvent[]): number {
  let last = 0;
  for (const event of events) last = Math.max(last, event.seq);
  return last;
}

function eventsOf(stored: { json: string | null; events: KeyEvent[] | null }): KeyEvent[] {
  stored.events ??= JSON.parse(stored.json ?? "[]") as KeyEvent[];
  stored.json = null;
  return stored.events;
}
