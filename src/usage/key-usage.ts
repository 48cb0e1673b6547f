import { VERDICT_CODES, type Verdict } from "../authority/verdicts";
import { ERROR_STATUS } from "../http/errors";
import { bucketStart, HOUR_MS, KEY_RETENTION_MS, UNITS, type CodeCounts } from "./buckets";
import type { UseContext } from "./context";

/** The last this many decisions are kept per key, whatever their outcome. */
export const KEY_EVENTS = 200;

export interface KeyUsage {
  /** Requests admitted. */
  requests: number;
  /** Requests refused by the rate limit. */
  rateLimited: number;
  /** The last admitted request: when, from which address (unless LOG_CLIENT_IPS=false) and country. */
  lastUsedAt: number | null;
  lastUsedIp: string | null;
  lastUsedCountry: string | null;
}

/** The key and its tenant, as the worker last said: where the hourly counts are forwarded to. */
export interface UsageOwner {
  keyId: string;
  tenantId: string;
}

/** One decision as the key's object keeps it (snake_case: it is what the API shows, and what is stored). */
export type KeyEventRow = {
  at: number;
  code: string;
  status: number;
  method: string | null;
  path: string | null;
  ip: string | null;
  country: string | null;
  user_agent: string | null;
  request_id: string | null;
  carrier: string | null;
};

/** An event with its number, in the order decisions were made (for paging). */
export type KeyEvent = KeyEventRow & { seq: number };

/** An hour's counts by outcome code, and the mark storage puts on the copy it holds. */
export interface CountedHour {
  counts: CodeCounts;
  stored: number;
}

/** What a start restores: the counters and where numbering and forwarding stand. */
export interface UsageState {
  usage: KeyUsage;
  owner: UsageOwner | null;
  nextEvent: number;
  forwardedThrough: number;
}

/** One forward of hourly counts to D1's tenant totals: absolute counts, so sending twice changes nothing. */
export interface HoursToForward {
  owner: UsageOwner;
  hours: { hour: number; counts: string }[];
  lastUsedAt: number | null;
}

export const EMPTY_USAGE: UsageState = {
  usage: { requests: 0, rateLimited: 0, lastUsedAt: null, lastUsedIp: null, lastUsedCountry: null },
  owner: null,
  nextEvent: 1,
  forwardedThrough: 0,
};

/**
 * What a key's object counts about the key's use, in memory: the counters, the last use, hourly
 * counts by outcome for 30 days and the last 200 decisions. Memory is the truth while the object
 * lives; the object's storage takes what changed (`take`) in the same write as its window.
 */
export class KeyUsageLog {
  readonly usage: KeyUsage;
  owner: UsageOwner | null;
  /** Hours within retention, by hour start. */
  readonly hours: Map<number, CountedHour>;
  private nextEvent: number;
  /** Events not yet handed to storage (at most 2 × KEY_EVENTS; the oldest beyond are dropped, numbers kept). */
  private pending: KeyEvent[] = [];
  private readonly changedHours = new Set<number>();
  private countersDirty = false;
  /** Each hour's counts as D1 last acknowledged them (this instance's forwards only). */
  private readonly forwarded = new Map<number, string>();
  private forwardedThrough: number;

  constructor(state: UsageState, hours: Map<number, CountedHour>) {
    this.usage = { ...state.usage };
    this.owner = state.owner;
    this.nextEvent = state.nextEvent;
    this.forwardedThrough = state.forwardedThrough;
    this.hours = hours;
  }

  /**
   * Records one decision: counted (counters, the hour's counts, an admission's cost `units`), and
   * kept among the last events. A check that counts nothing (a verification of cost 0) is kept as
   * an event only: it admitted nothing.
   */
  record(verdict: Verdict, use: UseContext | undefined, now: number, units = 0, counted = true): void {
    const code = VERDICT_CODES[verdict];
    if (counted) {
      if (verdict === "valid") {
        this.usage.requests++;
        this.usage.lastUsedAt = now;
        this.usage.lastUsedIp = use?.ip ?? null;
        this.usage.lastUsedCountry = use?.country ?? null;
      } else if (verdict === "rate_limited") {
        this.usage.rateLimited++;
      }
      this.countersDirty = true;
      this.countHour(now, code, units);
    }
    if (!use) return;
    if (this.owner?.keyId !== use.keyId || this.owner.tenantId !== use.tenantId) this.owner = { keyId: use.keyId, tenantId: use.tenantId };
    this.pending.push({
      seq: this.nextEvent++,
      at: now,
      code,
      // The answer keygate gives for this verdict; for an admission 200, since the origin's own
      // status is not known when the object decides.
      status: verdict === "valid" ? 200 : ERROR_STATUS[code as keyof typeof ERROR_STATUS],
      method: use.method,
      path: use.path,
      ip: use.ip,
      country: use.country,
      user_agent: use.userAgent,
      request_id: use.requestId,
      carrier: use.carrier,
    });
    if (this.pending.length > 2 * KEY_EVENTS) this.pending = this.pending.slice(-KEY_EVENTS);
  }

  get dirty(): boolean {
    return this.countersDirty || this.pending.length > 0 || this.changedHours.size > 0;
  }

  /** What storage writes now: the hours that changed and the new events. Memory stays as it is. */
  take(): { changedHours: number[]; events: KeyEvent[] } {
    const taken = { changedHours: [...this.changedHours], events: this.pending };
    this.changedHours.clear();
    this.pending = [];
    this.countersDirty = false;
    return taken;
  }

  /** The state a start restores from (written with every write). */
  state(now: number): UsageState {
    return { usage: { ...this.usage }, owner: this.owner, nextEvent: this.nextEvent, forwardedThrough: this.forwardedThroughAt(now) };
  }

  /** The number of the oldest event still kept. */
  get oldestEvent(): number {
    return this.nextEvent - KEY_EVENTS;
  }

  /** Events not yet stored, newest first. */
  unstoredEvents(): KeyEvent[] {
    return this.pending.slice().reverse();
  }

  /** The counted hours in `[from, to)`, oldest first. */
  hoursBetween(from: number, to: number): [number, CodeCounts][] {
    return [...this.hours]
      .filter(([hour]) => hour >= from && hour < to)
      .sort(([a], [b]) => a - b)
      .map(([hour, { counts }]) => [hour, counts]);
  }

  /** The hours D1 does not hold as counted now, or null when there is nothing to send. */
  toForward(): HoursToForward | null {
    if (!this.owner) return null;
    const hours: { hour: number; counts: string }[] = [];
    for (const [hour, { counts }] of this.hours) {
      if (hour < this.forwardedThrough) continue;
      const json = JSON.stringify(counts);
      if (this.forwarded.get(hour) !== json) hours.push({ hour, counts: json });
    }
    if (hours.length === 0) return null;
    return { owner: this.owner, hours: hours.sort((a, b) => a.hour - b.hour), lastUsedAt: this.usage.lastUsedAt };
  }

  /** Marks what D1 acknowledged; an hour counted again meanwhile goes with the next forward. */
  markForwarded(sent: HoursToForward): void {
    for (const { hour, counts } of sent.hours) this.forwarded.set(hour, counts);
  }

  /**
   * Every hour before the returned one has reached D1 with its final counts: it is past, and what
   * was forwarded equals what is counted. Stored with the next write (never a write of its own);
   * a start re-forwards from there, which D1 takes as the same absolute counts.
   */
  private forwardedThroughAt(now: number): number {
    const thisHour = bucketStart(now, "hour");
    let through = this.forwardedThrough;
    const hours = [...this.hours.keys()].filter((hour) => hour >= through).sort((a, b) => a - b);
    for (const hour of hours) {
      if (hour >= thisHour || this.forwarded.get(hour) !== JSON.stringify(this.hours.get(hour)!.counts)) return hour;
      through = hour + HOUR_MS;
    }
    return Math.min(Math.max(through, this.forwardedThrough), thisHour);
  }

  private countHour(now: number, code: string, units: number): void {
    const hour = bucketStart(now, "hour");
    let counted = this.hours.get(hour);
    if (!counted) {
      this.hours.set(hour, (counted = { counts: {}, stored: -1 }));
      // A new hour: those past retention go (their stored copies are dropped as chunks are reused).
      for (const old of this.hours.keys()) if (old <= now - KEY_RETENTION_MS) this.hours.delete(old);
    }
    counted.counts[code] = (counted.counts[code] ?? 0) + 1;
    if (units > 0) counted.counts[UNITS] = (counted.counts[UNITS] ?? 0) + units;
    this.changedHours.add(hour);
  }
}
