import { DurableObject } from "cloudflare:workers";
import { decide, ONE_REQUEST, policyRefusal, type Charge, type Decision, type Limits, type LimitState, type Shortfall } from "../authority/decision";
import { normalizePolicy, type KeyPolicy } from "../authority/key";
import { CREDITS_LIMIT_NAME, QUOTA_LIMIT_NAME } from "../authority/plan";
import { mayRotate, nextStatus } from "../authority/status";
import type { Verdict } from "../authority/verdicts";
import { systemClock, type Clock } from "../clock";
import { ArrivalRate } from "../counting/arrival-rate";
import { balanceAt, balanceSet, nextRefill, type CreditBalance } from "../counting/credits";
import { periodAt, type Span } from "../counting/calendar";
import { covers, nextReservation, NO_RESERVATION, type Reservation } from "../counting/reservation";
import { SlidingWindow } from "../counting/sliding-window";
import { type UsageRange, denseSeries, KEY_RETENTION_MS } from "../usage/buckets";
import type { UseContext } from "../usage/context";
import { EMPTY_USAGE, KEY_EVENTS, KeyUsageLog, type KeyEvent, type KeyUsage } from "../usage/key-usage";
import { forwarderName } from "../usage/totals-forwarder";
import { KEY_GUARD_STORAGE } from "../object-storage/steps";
import { upgradeObjectStorage } from "../object-storage/versions";
import { KeyLedger, type HeldLease, type LedgerHead } from "../object-storage/key-ledger";
import type { Closing, QuotaStanding } from "./quota-guard";
import { countingWrites } from "./storage-stats";
import { WriteBehind } from "./write-behind";

export type { KeyUsage };

/** What the object stores beside the policy, to order concurrent admin writes. */
interface GuardState extends KeyPolicy {
  /** The tenant status version last written, so a late fan-out cannot undo a newer one. */
  tenantVersion?: number;
  /** The version of the tenant's quotas last written (a removal has no reference to carry it). */
  quotaVersion?: number;
  /** Set once by the first rotation; a second, concurrent rotation is refused. */
  rotatedTo?: string;
}

/** An admin's write to the key: policy fields, and the credits it sets (with `credits` its plan). */
export type PolicyChange = Partial<KeyPolicy> & { creditsRemaining?: number };

/**
 * What takeCredits did: took them (`left`: what the key has after; null when it spends no credits
 * and nothing was taken), with the refill period they were taken from, or refused for want of
 * them, changing nothing (`left`: what it has).
 */
export type CreditsTaken = { taken: true; left: number | null; periodStart: number | null } | { taken: false; left: number };

/**
 * What the object decided but has not written yet (usage, the windows' recorded admissions) is
 * written right after the reply when the object last wrote more than this long ago, else this
 * long after that write: a quiet key's every decision is stored as soon as it is answered, a busy
 * key writes once a second, and a restart can lose at most the usage of that second (never an
 * admission: those are covered by the stored reservation).
 */
export const PERSIST_EVERY_MS = 1_000;
/**
 * When the key's hourly counts reach D1 (tenant totals, last use in key lists): FORWARD_DELAY_MS
 * after a change, but at most once every FORWARD_EVERY_MS per key, however busy the key is, through
 * a UsageForwarder that writes many keys' counts in one D1 batch. A key quiet for a minute shows
 * within about 6 s (the forwarder waits up to BATCH_WAIT_MS for company); a busy key's totals
 * trail by up to a minute.
 */
export const FORWARD_DELAY_MS = 5_000;
export const FORWARD_EVERY_MS = 60_000;
/** After a failed forward (D1 unreachable), when to try again; the counts wait in the object meanwhile. */
const FORWARD_RETRY_MS = 30_000;
/** A lease of the tenant's quota covers about this long of the key's recent spending. */
export const LEASE_COVER_MS = 5_000;
/** A key quiet this long gives its lease back, so its units go to the tenant's other keys. */
export const LEASE_IDLE_MS = 8_000;
/**
 * After the quota object had nothing to lease, the key refuses without asking again for this
 * long: a flood on a spent quota costs the quota object one call a second per key, not one per
 * request. Units other keys give back meanwhile wait at most this long for it.
 */
export const NO_LEASE_BACKOFF_MS = 1_000;

/**
 * One object per key, addressed by key id: the single point of truth for the key's status, its
 * exact sliding windows and its credits, and the one place its spending of the tenant's quota is
 * counted (from a lease the tenant's quota object granted it). Every authenticated request asks it,
 * so a revocation written here is seen by the very next request from any isolate, whatever KV or
 * an isolate cache still says.
 *
 * Decisions are made in memory and answered at once; what makes that safe across restarts is the
 * reservation (counting/reservation.ts): an admission is replied to before anything about it is
 * written only while a stored reservation covers it. Every write is one row of the ledger
 * (key-ledger.ts) carrying the new entries, the next reservation and the usage together.
 */
export class KeyGuard extends DurableObject<Env> {
  private readonly clock: Clock = systemClock;
  private readonly sql: SqlStorage;
  private readonly ledger: KeyLedger;
  private state: GuardState | null = null;
  private readonly windows = new Map<string, SlidingWindow>();
  private credits: CreditBalance | null = null;
  /** The lease of the tenant's quota this object spends from, and one it is giving back. */
  private lease: HeldLease | null = null;
  private closing: Closing | null = null;
  /** The tenant's quota as the last lease answer said (for the headers). */
  private quotaStanding: QuotaStanding | null = null;
  private renewal: Promise<void> | null = null;
  /** Until when the quota object is not asked again, after it had nothing to lease (see NO_LEASE_BACKOFF_MS). */
  private noLeaseUntil = Number.NEGATIVE_INFINITY;
  private readonly usage: KeyUsageLog;
  private readonly rate = new ArrivalRate();
  /** Cost units per admission, lately (sizes the units a reservation or a lease covers). */
  private unitsPerAdmission = 1;
  /** The reservation storage holds, and how much of it this instance spent. */
  private reservation: Reservation = NO_RESERVATION;
  private reserved = { admissions: 0, units: 0 };
  /** Admissions since the last write: a write after some renews the reservation, one after none keeps what is left. */
  private admittedSinceWrite = 0;
  private lastAdmissionAt = Number.NEGATIVE_INFINITY;
  private epochs: Record<string, number> = {};
  /** The write after the replies (see PERSIST_EVERY_MS). */
  private readonly writes = new WriteBehind(() => this.writeDue());
  /**
   * The release of what the key holds unused once it falls quiet: a timer of its own, armed once
   * and moved only when it fires early, so a busy key's writes never reset it.
   */
  private readonly releases = new WriteBehind(() => this.releaseDue());
  private writtenAt = Number.NEGATIVE_INFINITY;
  /** When the alarm is set for, as far as this instance knows (null: none it set). */
  private alarmAt: number | null = null;
  /** When this instance last forwarded (the first forward after a start need not wait). */
  private forwardedAt = Number.NEGATIVE_INFINITY;
  /** SQLite rows this instance has written (Cloudflare bills them), and alarms it set: see storageStats. */
  private rowsWritten = 0;
  private alarmsSet = 0;
  private readonly limits: Limits = {
    shortfall: (now, charge) => this.shortfall(now, charge, true),
    spend: (now, charge) => this.spend(now, charge),
    states: (now) => this.limitStates(now),
  };

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = countingWrites(ctx.storage.sql, (rows) => {
      this.rowsWritten += rows;
    });
    // Storage left by any earlier release is brought up to this one's tables before anything reads it.
    upgradeObjectStorage(ctx.storage, KEY_GUARD_STORAGE);
    const row = this.sql.exec<{ policy: string }>("SELECT policy FROM guard WHERE id = 1").toArray()[0];
    if (row) this.state = normalizePolicy(JSON.parse(row.policy)) as GuardState;
    const now = this.clock.now();
    this.ledger = new KeyLedger(this.sql);
    const loaded = this.ledger.load({
      windowStarts: (name) => {
        const window = this.state?.windows.find((w) => w.name === name);
        return window ? now - window.windowSeconds * 1000 : Number.POSITIVE_INFINITY;
      },
      hoursAfter: now - KEY_RETENTION_MS,
      oldestEvent: (head) => head.nextEvent - KEY_EVENTS,
    });
    for (const window of this.state?.windows ?? []) {
      this.windows.set(window.name, new SlidingWindow(loaded.entries.get(window.name) ?? [], now - window.windowSeconds * 1000));
    }
    const head = loaded.head;
    this.usage = new KeyUsageLog(head ?? EMPTY_USAGE, loaded.hours);
    if (head) {
      this.epochs = head.epochs;
      this.credits = head.credits ?? null;
      this.lease = head.lease ?? null;
      this.closing = head.closing ?? null;
      this.countReservedAsMade(head.reservation);
    }
    // The recent rate, as far as the windows' entries tell it (exactly, for an exact window).
    const first = this.windows.values().next().value;
    for (const entry of first?.live() ?? []) if (entry.end <= now) this.rate.note(entry.end);
  }

  /**
   * Decides one request with this key (proxied or verified) and returns the whole decision. An
   * object that has never been written (a key inserted into D1 by other means) answers null, and
   * the caller asks again with its cached snapshot to seed it; a written object never takes a
   * cache's word over its own. `use` says who asked, from where, for the key's usage records;
   * `charge` what the request costs (see Charge). It waits only when the key must first lease
   * units of its tenant's quota.
   */
  decide(neededScopes: readonly string[], snapshot?: KeyPolicy, use?: UseContext, charge: Charge = ONE_REQUEST): Decision | null | Promise<Decision> {
    if (!this.state) {
      if (!snapshot) return null;
      this.save(normalizePolicy(snapshot));
    }
    const now = this.clock.now();
    if (this.mustLease(now, neededScopes, charge)) return this.leaseThenDecide(neededScopes, use, charge);
    return this.decideNow(now, neededScopes, use, charge);
  }

  /**
   * Records a refusal the worker decided without this object: a key its cache already knows to be
   * revoked (verify.ts saves that trip, and calls this after answering).
   */
  recordRefusal(verdict: Verdict, use: UseContext): void {
    const now = this.clock.now();
    this.usage.record(verdict, use, now, 0);
    this.writeSoon(now);
  }

  /**
   * Admin write-through: the change is durable here before the admin call returns. A change of
   * the tenant's status or quota carries `tenantVersion`; one older than the version of that field
   * already written is ignored, so two suspensions and reactivations (or two quota changes, or a
   * quota change and a new key's own reading of the tenant) racing through their fan-outs end as
   * the newer one says.
   * A change of the tenant's quota gives back the lease held under the old one first, so the
   * quota object counts exactly what was spent before the admin call returns.
   */
  update(change: PolicyChange, snapshot: KeyPolicy, tenantVersion?: number): void | Promise<void> {
    const { creditsRemaining, ...policyChange } = change;
    const current: GuardState = this.state ?? normalizePolicy(snapshot);
    const next: GuardState = { ...current, ...policyChange, status: nextStatus(current.status, policyChange.status) };
    if (policyChange.tenantActive !== undefined && tenantVersion !== undefined) {
      if (tenantVersion < (current.tenantVersion ?? -Infinity)) next.tenantActive = current.tenantActive;
      else next.tenantVersion = tenantVersion;
    }
    if ("quota" in policyChange && tenantVersion !== undefined) {
      if (tenantVersion < (current.quotaVersion ?? -Infinity)) next.quota = current.quota;
      else next.quotaVersion = tenantVersion;
    }
    const now = this.clock.now();
    const credits = next.credits ? (creditsRemaining !== undefined ? balanceSet(creditsRemaining, next.credits, now) : (this.credits ?? balanceSet(0, next.credits, now))) : null;
    const quotaChanged = "quota" in policyChange && (current.quota?.object !== next.quota?.object || current.quota?.version !== next.quota?.version);
    if (quotaChanged) this.noLeaseUntil = Number.NEGATIVE_INFINITY;
    if (!quotaChanged || !this.lease) {
      this.save(next, credits);
      return;
    }
    const from = current.quota!.object;
    const closing = this.giveBackLease();
    this.save(next, credits);
    return this.env.QUOTA_GUARD.getByName(from)
      .release(this.keyId(), closing)
      .then(() => {
        this.closing = null;
      });
  }

  /**
   * The first step of a rotation: claims this key's one successor, shortens its life to
   * `expiresAt` and takes what it has left of its credits (and its refill) for the successor, all
   * in one step, so no request spends a credit between its reading and its taking: a rotation
   * moves a balance, never copies it. `creditsIfUnwritten`: what D1 says was set, for an object
   * never written. Null when the key was already rotated or can no longer be used.
   */
  claimRotation(successorId: string, expiresAt: number, snapshot: KeyPolicy, creditsIfUnwritten: number | null = null): { creditsLeft: number | null } | null {
    const current: GuardState = this.state ?? normalizePolicy(snapshot);
    if (!mayRotate(current)) return null;
    const now = this.clock.now();
    const next: GuardState = { ...current, rotatedTo: successorId, expiresAt: Math.min(current.expiresAt ?? Infinity, expiresAt) };
    if (!current.credits) {
      this.save(next);
      return { creditsLeft: null };
    }
    const balance = this.state ? this.creditsAt(now)! : balanceSet(creditsIfUnwritten ?? 0, current.credits, now);
    const spent = { refill: null };
    this.save({ ...next, credits: spent }, balanceSet(0, spent, now));
    return { creditsLeft: Math.max(0, balance.remaining) };
  }

  /**
   * Takes `amount` of the key's credits for a key it issues (admin/key-bounds.ts), in one step, so
   * that keys issued together, or while the key spends, are never given more than it has: refused,
   * with nothing changed, when it has less left. Stored before the answer, like a rotation's claim.
   * `creditsIfUnwritten`: what D1 says was set, for an object never written. Null when the key can
   * no longer be used (an unusable key gives nothing).
   */
  takeCredits(amount: number, snapshot: KeyPolicy, creditsIfUnwritten: number | null = null): CreditsTaken | null {
    const current: GuardState = this.state ?? normalizePolicy(snapshot);
    const now = this.clock.now();
    if (policyRefusal(current, now, []) !== null) return null;
    if (!current.credits) return { taken: true, left: null, periodStart: null };
    const balance = this.state ? this.creditsAt(now)! : balanceSet(creditsIfUnwritten ?? 0, current.credits, now);
    const left = Math.max(0, balance.remaining);
    if (left < amount) return { taken: false, left };
    this.save(current, { ...balance, remaining: balance.remaining - amount });
    return { taken: true, left: left - amount, periodStart: balance.periodStart };
  }

  /**
   * Gives back what takeCredits took, for a key that was not issued after all. Only into the
   * refill period they were taken from: a refill since has set the balance anew, and what was
   * taken went with the period it was taken from.
   */
  giveCreditsBack(amount: number, periodStart: number | null): void {
    if (!this.state?.credits) return;
    const balance = this.creditsAt(this.clock.now())!;
    if (balance.periodStart !== periodStart) return;
    this.save(this.state, { ...balance, remaining: balance.remaining + amount });
  }

  getUsage(): KeyUsage {
    return { ...this.usage.usage };
  }

  /** Where the key's limits stand now: its windows, its credits and its share of the tenant's quota. */
  standing(): LimitState[] {
    return this.state ? this.limitStates(this.clock.now()) : [];
  }

  /**
   * What this instance has written, and what its windows hold: the benchmark reports rows written
   * per decision (Cloudflare bills each), and stored rows to show the ledger's bound.
   */
  storageStats(): { rowsWritten: number; alarmsSet: number; storedRows: number; windowEntries: number } {
    const storedRows = this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM ledger").one().n;
    let windowEntries = 0;
    for (const window of this.windows.values()) windowEntries += window.entryCount;
    return { rowsWritten: this.rowsWritten, alarmsSet: this.alarmsSet, storedRows, windowEntries };
  }

  /** The key's counts in the range, bucketed, as counted now. */
  usageSeries(range: UsageRange) {
    return { ...denseSeries(range, this.usage.hoursBetween(range.from, range.to)), usage: this.getUsage() };
  }

  /** The key's last decisions, newest first, before event `beforeSeq` if given. */
  events(limit: number, beforeSeq: number | null): { rows: KeyEvent[]; hasMore: boolean } {
    const oldest = this.usage.oldestEvent;
    const all = [...this.usage.unstoredEvents(), ...this.ledger.storedEventsSince(oldest)];
    const before = beforeSeq ?? Number.POSITIVE_INFINITY;
    const rows = all.filter((event) => event.seq < before && event.seq >= oldest);
    return { rows: rows.slice(0, limit), hasMore: rows.length > limit };
  }

  /**
   * Forwards the hourly counts toward D1 (see FORWARD_DELAY_MS): no request ever waits on D1 for
   * this, and nothing is written here for it (what D1 acknowledged goes with the next write).
   */
  override async alarm(): Promise<void> {
    this.alarmAt = null;
    const now = this.clock.now();
    const sending = this.usage.toForward();
    if (!sending) return;
    // Woken early (an alarm set by an earlier release): the forward waits for its turn.
    if (now < this.forwardedAt + FORWARD_EVERY_MS) return this.wakeAt(this.forwardedAt + FORWARD_EVERY_MS);
    this.forwardedAt = now;
    try {
      // Returns once D1 holds them, in a batch shared with other keys' counts (see UsageForwarder).
      await this.env.USAGE_FORWARDER.getByName(forwarderName(sending.owner.keyId)).forward(sending);
    } catch (error) {
      console.error("keygate: forwarding usage to D1 failed; retrying", error);
      return this.wakeAt(now + FORWARD_RETRY_MS);
    }
    this.usage.markForwarded(sending);
    if (this.usage.toForward()) this.wakeAt(this.nextForward(this.clock.now()));
  }

  private decideNow(now: number, neededScopes: readonly string[], use: UseContext | undefined, charge: Charge): Decision {
    const decision = decide(this.state!, now, neededScopes, this.limits, charge);
    const admitted = decision.verdict === "valid" && charge.counted;
    this.usage.record(decision.verdict, use, now, admitted ? charge.units : 0, charge.counted);
    if (admitted) {
      this.rate.note(now);
      this.unitsPerAdmission = 0.9 * this.unitsPerAdmission + 0.1 * charge.units;
      this.admittedSinceWrite++;
      this.lastAdmissionAt = now;
      if (!covers(this.reservation, this.reserved, now, charge.units)) {
        // Outside the stored reservation: this admission is written, with the next reservation,
        // before its reply (the output gate holds the reply until storage confirms it).
        this.write(now, "renew");
        return decision;
      }
      this.reserved.admissions++;
      this.reserved.units += charge.units;
    }
    this.writeSoon(now);
    return decision;
  }

  /** Whether this request must wait for a lease of the tenant's quota: it would pass every other check. */
  private mustLease(now: number, neededScopes: readonly string[], charge: Charge): boolean {
    const policy = this.state!;
    if (!policy.quota || charge.units === 0 || this.leaseLeft(now) >= charge.units || now < this.noLeaseUntil) return false;
    return policyRefusal(policy, now, neededScopes) === null && this.shortfall(now, charge, false) === null;
  }

  private async leaseThenDecide(neededScopes: readonly string[], use: UseContext | undefined, charge: Charge): Promise<Decision> {
    this.renewal ??= this.leaseFromQuota(charge.units).finally(() => {
      this.renewal = null;
    });
    await this.renewal;
    // Everything is decided again: other requests may have been decided while this one waited.
    return this.decideNow(this.clock.now(), neededScopes, use, charge);
  }

  /**
   * Gives the current lease back and takes the next one from the tenant's quota object. The lease
   * given back is written as given back before the call, so a restart can never spend it again.
   */
  private async leaseFromQuota(cost: number): Promise<void> {
    const quota = this.state!.quota!;
    const closing = this.lease ? this.giveBackLease() : this.closing;
    this.write(this.clock.now(), "release");
    const want = Math.max(cost, Math.ceil((this.rate.perSecond(this.clock.now()) * this.unitsPerAdmission * LEASE_COVER_MS) / 1000));
    const answer = await this.env.QUOTA_GUARD.getByName(quota.object).acquire({ keyId: this.keyId(), closing, want, cost });
    this.closing = null;
    this.quotaStanding = answer.standing;
    this.lease = answer.lease ? { ...answer.lease, spent: 0 } : null;
    const now = this.clock.now();
    this.noLeaseUntil = this.lease ? Number.NEGATIVE_INFINITY : now + NO_LEASE_BACKOFF_MS;
    this.write(now, "renew");
  }

  /** Marks the lease given back (to be written with the next write) and returns what is reported. */
  private giveBackLease(): Closing {
    const closing = { id: this.lease!.id, spent: this.lease!.spent };
    this.closing = closing;
    this.lease = null;
    return closing;
  }

  /** Units of the lease still to spend, if the lease's period is still running. */
  private leaseLeft(now: number): number {
    const lease = this.lease;
    if (!lease || now >= lease.period.end || now < lease.period.start) return 0;
    return lease.granted - lease.spent;
  }

  /** The first limit that refuses `charge` (windows, credits, then the quota unless asked not to). */
  private shortfall(now: number, charge: Charge, withQuota: boolean): Shortfall | null {
    const policy = this.state!;
    for (const window of policy.windows) {
      const state = this.windowOf(window.name).peek(now, window.limit, window.windowSeconds * 1000);
      if (!state.admitted) return { verdict: "rate_limited", retryAfterMs: state.retryAfterMs };
    }
    if (policy.credits) {
      const balance = this.creditsAt(now)!;
      if (balance.remaining < charge.units) {
        const refill = nextRefill(policy.credits, now);
        return { verdict: "usage_exceeded", retryAfterMs: refill === null ? null : refill - now };
      }
    }
    if (withQuota && policy.quota && charge.units > 0 && this.leaseLeft(now) < charge.units) {
      const end = this.lease?.period.end ?? this.quotaStanding?.period.end ?? null;
      return { verdict: "quota_exceeded", retryAfterMs: end === null ? null : Math.max(0, end - now) };
    }
    return null;
  }

  private spend(now: number, charge: Charge): void {
    if (!charge.counted) return;
    for (const window of this.state!.windows) this.windowOf(window.name).tryAdmit(now, window.limit, window.windowSeconds * 1000);
    if (this.state!.credits) {
      const balance = this.creditsAt(now)!;
      this.credits = { ...balance, remaining: balance.remaining - charge.units };
    }
    if (this.state!.quota && this.lease) this.lease.spent += charge.units;
  }

  private limitStates(now: number): LimitState[] {
    const policy = this.state!;
    const states: LimitState[] = policy.windows.map((window) => {
      const state = this.windowOf(window.name).peek(now, window.limit, window.windowSeconds * 1000);
      return { name: window.name, limit: state.limit, remaining: state.remaining, resetAt: state.resetAt, windowSeconds: window.windowSeconds, window: true };
    });
    if (policy.credits) {
      const balance = this.creditsAt(now)!;
      const refill = policy.credits.refill;
      const period = refill ? periodAt(now, refill) : null;
      states.push({
        name: CREDITS_LIMIT_NAME,
        limit: refill ? refill.amount : balance.remaining,
        remaining: Math.max(0, balance.remaining),
        resetAt: period ? period.end : null,
        windowSeconds: period ? spanSeconds(period) : null,
        window: false,
      });
    }
    const quota = this.quotaStanding;
    if (policy.quota && quota) {
      states.push({
        name: QUOTA_LIMIT_NAME,
        limit: quota.limit,
        remaining: Math.max(0, quota.remaining + this.leaseLeft(now)),
        resetAt: quota.period.end,
        windowSeconds: spanSeconds(quota.period),
        window: false,
      });
    }
    return states;
  }

  private creditsAt(now: number): CreditBalance | null {
    const plan = this.state!.credits;
    if (!plan) return null;
    this.credits = balanceAt(this.credits ?? balanceSet(0, plan, now), plan, now);
    return this.credits;
  }

  private windowOf(name: string): SlidingWindow {
    let window = this.windows.get(name);
    if (!window) this.windows.set(name, (window = new SlidingWindow()));
    return window;
  }

  /**
   * Admissions, units and lease spending the stored reservation allowed may have been made and not
   * recorded (a crash between a reply and its write): they count, as made at the latest moment it
   * allowed (in every window), and spent in full (credits, lease).
   */
  private countReservedAsMade(reservation: Reservation): void {
    if (!this.state || reservation.admissions <= 0) return;
    for (const window of this.state.windows) {
      this.windowOf(window.name).countReserved(reservation.until, reservation.admissions, window.limit, window.windowSeconds * 1000);
    }
    const units = reservation.units ?? 0;
    if (this.credits) this.credits = { ...this.credits, remaining: this.credits.remaining - units };
    if (this.lease) this.lease = { ...this.lease, spent: this.lease.spent + units };
  }

  /** Schedules the write of what the last decisions changed (see PERSIST_EVERY_MS). */
  private writeSoon(now: number): void {
    this.writes.schedule(Math.max(now, this.writtenAt + PERSIST_EVERY_MS), now);
  }

  /** The timer's write: what the last decisions left, with a fresh reservation after admissions. */
  private writeDue(): void {
    if (this.dirty) this.write(this.clock.now(), this.admittedSinceWrite > 0 ? "renew" : "keep");
  }

  /**
   * When the key fell quiet: the release of what it holds unused (the stored reservation, its lease
   * of the quota), so that a restart after a quiet spell costs nothing and the tenant's other keys
   * get the units. A key still in use is left alone, and asked again when its reservation ends.
   */
  private releaseDue(): void {
    const now = this.clock.now();
    const unusedReservation = this.reservation.admissions > this.reserved.admissions && now >= this.reservation.until;
    const idleLease = this.lease !== null && now >= this.lastAdmissionAt + LEASE_IDLE_MS;
    if (!unusedReservation && !idleLease) return this.scheduleRelease(now);
    const from = this.state?.quota?.object;
    const closing = idleLease ? this.giveBackLease() : null;
    this.write(now, "release");
    if (closing && from) {
      this.env.QUOTA_GUARD.getByName(from)
        .release(this.keyId(), closing)
        .catch((error: unknown) => console.error("keygate: giving a lease back failed; it counts as spent", error));
    }
  }

  private get dirty(): boolean {
    if (this.usage.dirty) return true;
    for (const window of this.windows.values()) if (window.dirty) return true;
    return false;
  }

  /** When what the key holds unused is due to be given back (an earlier timer already armed stays). */
  private scheduleRelease(now: number): void {
    const dues: number[] = [];
    if (this.reservation.admissions > this.reserved.admissions) dues.push(this.reservation.until);
    if (this.lease) dues.push(this.lastAdmissionAt + LEASE_IDLE_MS);
    if (dues.length > 0) this.releases.schedule(Math.max(now, Math.min(...dues)), now);
  }

  /**
   * Writes one row: the windows' new entries, the usage counted since the last write, the credits,
   * the lease and the reservation that covers the admissions to come, in the object's one
   * transaction. The reservation is sized afresh after admissions ("renew"), is what is left of the
   * current one after none ("keep"), or none ("release"); a key that cannot be used gets none.
   * Whoever writes takes the place of any write still scheduled.
   */
  private write(now: number, reservation: "renew" | "keep" | "release"): void {
    this.writes.cancel();
    const windows = [...this.windows].map(([name, window]) => {
      const changes = window.takeChanges();
      if (changes.rewrite) this.epochs = { ...this.epochs, [name]: (this.epochs[name] ?? 0) + 1 };
      return { name, changes, live: () => window.live() };
    });
    this.reservation = reservation === "renew" ? this.reservationFrom(now) : reservation === "keep" ? this.leftOver(now) : NO_RESERVATION;
    this.reserved = { admissions: 0, units: 0 };
    this.admittedSinceWrite = 0;
    const { changedHours, events } = this.usage.take();
    const head: LedgerHead = {
      ...this.usage.state(now),
      reservation: this.reservation,
      epochs: this.epochs,
      credits: this.credits,
      lease: this.lease,
      closing: this.closing,
    };
    this.ledger.write({ head, windows, hours: this.usage.hours, changedHours, events }, { hoursAfter: now - KEY_RETENTION_MS, oldestEvent: this.usage.oldestEvent });
    this.writtenAt = now;
    // New counts to forward: the tenant's totals follow (see FORWARD_DELAY_MS).
    if (changedHours.length > 0) this.wakeAt(this.nextForward(now));
    this.scheduleRelease(now);
  }

  /** What is left of the current reservation, if it has not ended. */
  private leftOver(now: number): Reservation {
    const { admissions, units, until } = this.reservation;
    if (now > until || admissions <= this.reserved.admissions) return NO_RESERVATION;
    return { admissions: admissions - this.reserved.admissions, units: units === null ? null : units - this.reserved.units, until };
  }

  /** The reservation to store now: sized by the key's recent rate and what its limits have room for. */
  private reservationFrom(now: number): Reservation {
    const state = this.state;
    if (!state || policyRefusal(state, now, []) !== null) return NO_RESERVATION;
    const windows = state.windows.map((window) => {
      const windowMs = window.windowSeconds * 1000;
      return { limit: window.limit, windowMs, room: this.windowOf(window.name).room(now, window.limit, windowMs) };
    });
    let available: number | null = null;
    let notAfter = Number.POSITIVE_INFINITY;
    if (state.credits) {
      available = Math.max(0, this.creditsAt(now)!.remaining);
      notAfter = Math.min(notAfter, nextRefill(state.credits, now) ?? Number.POSITIVE_INFINITY);
    }
    if (state.quota) {
      available = Math.min(available ?? Number.POSITIVE_INFINITY, this.leaseLeft(now));
      if (this.lease) notAfter = Math.min(notAfter, this.lease.period.end);
    }
    return nextReservation(now, this.rate.perSecond(now), windows, { available, perAdmission: this.unitsPerAdmission, notAfter });
  }

  private nextForward(now: number): number {
    return Math.max(now + FORWARD_DELAY_MS, this.forwardedAt + FORWARD_EVERY_MS);
  }

  /** Sets the alarm unless one is already due sooner: at most one alarm write per wake-up. */
  private wakeAt(at: number): void {
    if (this.alarmAt !== null && this.alarmAt <= at) return;
    this.alarmAt = at;
    this.alarmsSet++;
    void this.ctx.storage.setAlarm(at);
  }

  /** The key's id: the name the object is addressed by. */
  private keyId(): string {
    return this.ctx.id.name ?? this.usage.owner?.keyId ?? this.ctx.id.toString();
  }

  /**
   * Stored first, then believed: if the write throws, memory still matches storage. Decisions not
   * yet written go in the same transaction, with a reservation sized for the new policy.
   */
  private save(state: GuardState, credits: CreditBalance | null = this.credits): void {
    const previous = { state: this.state, credits: this.credits };
    this.state = state;
    this.credits = credits;
    // A window the policy no longer has counts nothing more (its stored entries are left to expire).
    for (const name of this.windows.keys()) if (!state.windows.some((window) => window.name === name)) this.windows.delete(name);
    try {
      this.ctx.storage.transactionSync(() => {
        this.sql.exec(
          "INSERT INTO guard (id, policy) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET policy = excluded.policy",
          JSON.stringify(state),
        );
        this.write(this.clock.now(), "renew");
      });
    } catch (error) {
      this.state = previous.state;
      this.credits = previous.credits;
      throw error;
    }
  }
}

function spanSeconds(span: Span): number {
  return Math.round((span.end - span.start) / 1000);
}
