import { DurableObject } from "cloudflare:workers";
import type { Quota } from "../authority/plan";
import { systemClock, type Clock } from "../clock";
import { periodAt, type Span } from "../counting/calendar";
import { QUOTA_GUARD_STORAGE } from "../object-storage/steps";
import { upgradeObjectStorage } from "../object-storage/versions";

/** A lease the quota object handed a key's object: units it may spend, in one period, unasked. */
export interface Lease {
  id: number;
  granted: number;
  period: Span;
}

/** A key's object giving back a lease: how much of it was spent (all of it, if it cannot tell). */
export interface Closing {
  id: number;
  spent: number;
}

export interface LeaseRequest {
  keyId: string;
  /** The lease the key's object gives back with this request, if any. */
  closing: Closing | null;
  /** Units the key expects to spend soon (a few seconds at its rate). */
  want: number;
  /** Units the request waiting on this lease costs: a lease is never smaller. */
  cost: number;
}

/** A lease, or why there is none; with where the tenant stands, for the caller's headers. */
export type LeaseAnswer =
  | { lease: Lease; standing: QuotaStanding }
  | { lease: null; standing: QuotaStanding | null };

/** Where a tenant's quota stands: units spent in the period, plus those leased out and not given back. */
export interface QuotaStanding {
  limit: number;
  period: Span;
  /** Units spent by closed leases, plus the whole of every lease still out (they may be spent). */
  used: number;
  remaining: number;
}

type QuotaRow = {
  quota: string | null;
  version: number;
  period_start: number;
  period_end: number;
  used: number;
  outstanding: number;
  next_lease: number;
};

/**
 * The tenant's quota for one environment, exact across all of its keys: one object per tenant and
 * environment, asked only by keys' objects whose lease ran out, never by a request itself.
 *
 * Every unit the quota allows in a period is either spent (reported when a lease is closed), or
 * still out in a lease (counted as spent until it comes back); a lease is granted only from what
 * is neither, and stored before it is answered. So the units spent in a period never exceed the
 * quota, whatever restarts, and a lease a key's object loses (a restart before it could give it
 * back) costs at most that lease. Leases shrink as the quota runs down: never more than half of
 * what is free shared among the keys holding one, and never less than the request waiting costs,
 * so near the end at most about one request per key in use is left unused.
 */
export class QuotaGuard extends DurableObject<Env> {
  private readonly clock: Clock = systemClock;
  private readonly sql: SqlStorage;
  /** Calls answered since this instance started: see stats(). */
  private readonly calls = { acquire: 0, release: 0 };

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    upgradeObjectStorage(ctx.storage, QUOTA_GUARD_STORAGE);
    this.sql = ctx.storage.sql;
  }

  /**
   * Sets the quota (null: none), unless `version` is older than the one stored. Leases out keep
   * their units counted as spent until their keys give them back (the admin call that changes a
   * quota takes every lease back before it returns). A changed limit keeps the period and what was
   * spent in it; a quota whose calendar puts now in another period than the one stored (a changed
   * period or anchor day, or a quota set again after its removal under another calendar) starts
   * that period at the change, from nothing spent.
   */
  configure(quota: Quota | null, version: number): QuotaStanding | null {
    const row = this.row();
    if (version < row.version) return this.standingOf(row, this.quotaOf(row));
    const next: QuotaRow = { ...row, quota: quota ? JSON.stringify(quota) : null, version };
    const now = this.clock.now();
    const period = quota ? periodAt(now, quota) : null;
    if (period && (period.start !== row.period_start || period.end !== row.period_end)) {
      // Leases out stay counted while the stored period lasts: what keys spend from them until they
      // hear of the change counts in the new period (never more admitted than the new limit allows).
      // Once it is over they are void, as at the end of any period.
      this.startPeriod(next, period, now >= row.period_end);
    }
    this.save(next);
    return this.standingOf(next, quota);
  }

  /**
   * Closes the lease the key gives back (what it spent counts; a lease it held and did not give
   * back, lost to a restart, counts whole) and grants the next one.
   */
  acquire(request: LeaseRequest): LeaseAnswer {
    this.calls.acquire++;
    const row = this.row();
    const quota = this.quotaOf(row);
    if (!quota) {
      this.giveBack(row, request.keyId, request.closing);
      return { lease: null, standing: null };
    }
    this.rollPeriod(row, quota, this.clock.now());
    this.close(row, request.keyId, request.closing);
    const free = quota.limit - row.used - row.outstanding;
    const holders = this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM leases").one().n;
    const share = Math.floor(free / (2 * (holders + 1)));
    let granted = Math.min(free, Math.max(request.cost, Math.min(request.want, share)));
    if (granted < Math.max(1, request.cost)) granted = 0;
    let lease: Lease | null = null;
    if (granted > 0) {
      lease = { id: row.next_lease++, granted, period: { start: row.period_start, end: row.period_end } };
      row.outstanding += granted;
      this.sql.exec("INSERT INTO leases (key_id, lease_id, granted) VALUES (?, ?, ?)", request.keyId, lease.id, granted);
    }
    this.save(row);
    return { lease, standing: this.standingOf(row, quota)! } as LeaseAnswer;
  }

  /** A key's object gives its lease back (it fell quiet, or its policy changed). */
  release(keyId: string, closing: Closing): QuotaStanding | null {
    this.calls.release++;
    const row = this.row();
    const quota = this.quotaOf(row);
    if (!quota) {
      this.giveBack(row, keyId, closing);
      return null;
    }
    this.rollPeriod(row, quota, this.clock.now());
    this.close(row, keyId, closing);
    this.save(row);
    return this.standingOf(row, quota);
  }

  /**
   * A lease given back while no quota is set (it was removed): still closed, so that a quota set
   * again in the same period counts what was spent from it and no longer counts it as out.
   */
  private giveBack(row: QuotaRow, keyId: string, closing: Closing | null): void {
    if (row.outstanding === 0) return;
    this.close(row, keyId, closing);
    this.save(row);
  }

  /** Where the quota stands now (null: none is set). */
  standing(): QuotaStanding | null {
    const row = this.row();
    const quota = this.quotaOf(row);
    if (!quota) return null;
    this.rollPeriod(row, quota, this.clock.now());
    return this.standingOf(row, quota);
  }

  /**
   * How many times keys' objects asked for a lease and gave one back since this instance started:
   * the benchmark reports quota-object calls per admission (a count that went down means a restart).
   */
  stats(): { acquire: number; release: number } {
    return { ...this.calls };
  }

  /** Counts the key's outstanding lease as given back: what it says it spent, or all of it. */
  private close(row: QuotaRow, keyId: string, closing: Closing | null): void {
    const held = this.sql.exec<{ lease_id: number; granted: number }>("SELECT lease_id, granted FROM leases WHERE key_id = ?", keyId).toArray()[0];
    if (!held) return; // nothing out: the close was already counted, or belongs to an earlier period
    const spent = closing && closing.id === held.lease_id ? Math.min(Math.max(0, closing.spent), held.granted) : held.granted;
    row.used += spent;
    row.outstanding -= held.granted;
    this.sql.exec("DELETE FROM leases WHERE key_id = ?", keyId);
  }

  /** A new period starts from nothing: every lease of the last one is void. */
  private rollPeriod(row: QuotaRow, quota: Quota, now: number): void {
    if (now >= row.period_start && now < row.period_end && row.period_end > 0) return;
    const period = periodAt(now, quota);
    if (period.start === row.period_start) return;
    this.startPeriod(row, period, true);
  }

  /** `period` starts from nothing spent; with `leasesVoid`, no lease handed out before counts either. */
  private startPeriod(row: QuotaRow, period: Span, leasesVoid: boolean): void {
    row.period_start = period.start;
    row.period_end = period.end;
    row.used = 0;
    if (!leasesVoid) return;
    row.outstanding = 0;
    this.sql.exec("DELETE FROM leases");
  }

  private quotaOf(row: QuotaRow): Quota | null {
    return row.quota ? (JSON.parse(row.quota) as Quota) : null;
  }

  private standingOf(row: QuotaRow, quota: Quota | null): QuotaStanding | null {
    if (!quota) return null;
    const used = row.used + row.outstanding;
    return { limit: quota.limit, period: { start: row.period_start, end: row.period_end }, used, remaining: Math.max(0, quota.limit - used) };
  }

  private row(): QuotaRow {
    return (
      this.sql.exec<QuotaRow>("SELECT quota, version, period_start, period_end, used, outstanding, next_lease FROM quota WHERE id = 1").toArray()[0] ?? {
        quota: null,
        version: Number.NEGATIVE_INFINITY,
        period_start: 0,
        period_end: 0,
        used: 0,
        outstanding: 0,
        next_lease: 1,
      }
    );
  }

  private save(row: QuotaRow): void {
    this.sql.exec(
      `INSERT INTO quota (id, quota, version, period_start, period_end, used, outstanding, next_lease) VALUES (1, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET quota = excluded.quota, version = excluded.version, period_start = excluded.period_start,
         period_end = excluded.period_end, used = excluded.used, outstanding = excluded.outstanding, next_lease = excluded.next_lease`,
      row.quota,
      Number.isFinite(row.version) ? row.version : 0,
      row.period_start,
      row.period_end,
      row.used,
      row.outstanding,
      row.next_lease,
    );
  }
}

