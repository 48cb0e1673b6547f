import { DurableObject } from "cloudflare:workers";
import { decide, type Decision } from "../authority/decision";
import type { KeyPolicy } from "../authority/key";
import { nextStatus } from "../authority/status";
import type { Verdict } from "../authority/verdicts";
import { bucketEnd, bucketWidthMs } from "../authority/window";
import { systemClock, type Clock } from "../clock";
import { ArrivalRate } from "../counting/arrival-rate";
import { covers, nextReservation, NO_RESERVATION, type Reservation } from "../counting/reservation";
import { SlidingWindow } from "../counting/sliding-window";
import { type UsageRange, denseSeries, KEY_RETENTION_MS } from "../usage/buckets";
import type { UseContext } from "../usage/context";
import { EMPTY_USAGE, KEY_EVENTS, KeyUsageLog, type KeyEvent, type KeyUsage } from "../usage/key-usage";
import { forwarderName } from "../usage/totals-forwarder";
import { KEY_GUARD_STORAGE } from "../upgrades/guard-storage";
import { upgradeObjectStorage } from "../upgrades/object-storage";
import { KeyLedger, type LedgerHead } from "./key-ledger";
import { countingWrites } from "./storage-stats";
import { WriteBehind } from "./write-behind";

export type { KeyUsage };

/** What the object stores beside the policy, to order concurrent admin writes. */
interface GuardState extends KeyPolicy {
  /** The tenant status version last written, so a late fan-out cannot undo a newer one. */
  tenantVersion?: number;
  /** Set once by the first rotation; a second, concurrent rotation is refused. */
  rotatedTo?: string;
}

/** The key's one window (named, as the ledger stores windows by name). */
const WINDOW = "default";

/**
 * What the object decided but has not written yet (usage, the window's recorded admissions) is
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

/**
 * One object per key, addressed by key id: the single point of truth for the key's status and
 * its exact sliding window. Every authenticated request asks it, so a revocation written here is
 * seen by the very next request from any isolate, whatever KV or an isolate cache still says.
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
  private readonly window: SlidingWindow;
  private readonly usage: KeyUsageLog;
  private readonly rate = new ArrivalRate();
  /** The reservation storage holds, and how many admissions this instance made inside it. */
  private reservation: Reservation = NO_RESERVATION;
  private reservedUsed = 0;
  /** Admissions since the last write: a write after some renews the reservation, one after none keeps what is left. */
  private admittedSinceWrite = 0;
  private epochs: Record<string, number> = {};
  /** The write after the replies (see PERSIST_EVERY_MS), or the release of an unused reservation. */
  private readonly writes = new WriteBehind(() => this.writeDue());
  private writtenAt = Number.NEGATIVE_INFINITY;
  /** When the alarm is set for, as far as this instance knows (null: none it set). */
  private alarmAt: number | null = null;
  /** When this instance last forwarded (the first forward after a start need not wait). */
  private forwardedAt = Number.NEGATIVE_INFINITY;
  /** SQLite rows this instance has written (Cloudflare bills them), and alarms it set: see storageStats. */
  private rowsWritten = 0;
  private alarmsSet = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = countingWrites(ctx.storage.sql, (rows) => {
      this.rowsWritten += rows;
    });
    // Storage left by any earlier release is brought up to this one's tables before anything reads it.
    upgradeObjectStorage(ctx.storage, KEY_GUARD_STORAGE);
    const row = this.sql.exec<{ policy: string }>("SELECT policy FROM guard WHERE id = 1").toArray()[0];
    if (row) this.state = JSON.parse(row.policy) as GuardState;
    const now = this.clock.now();
    this.ledger = new KeyLedger(this.sql);
    const windowMs = this.state ? this.state.windowSeconds * 1000 : Number.POSITIVE_INFINITY;
    const loaded = this.ledger.load({
      windowStarts: (name) => (name === WINDOW ? now - windowMs : Number.POSITIVE_INFINITY),
      hoursAfter: now - KEY_RETENTION_MS,
      oldestEvent: (head) => head.nextEvent - KEY_EVENTS,
    });
    this.window = new SlidingWindow(loaded.entries.get(WINDOW) ?? [], now - windowMs);
    const head = loaded.head;
    this.usage = new KeyUsageLog(head ?? EMPTY_USAGE, loaded.hours);
    if (head) {
      this.epochs = head.epochs;
      // Admissions the stored reservation allowed may have been made and not recorded (a crash
      // between a reply and its write): they count, as made at the latest moment it allowed.
      if (this.state && head.reservation.admissions > 0) {
        const widthMs = bucketWidthMs(this.state.limit, windowMs);
        this.window.countReserved(bucketEnd(head.reservation.until, widthMs), head.reservation.admissions);
      }
    }
    // The recent rate, as far as the window's entries tell it (exactly, for an exact window).
    for (const entry of this.window.live()) if (entry.end <= now) this.rate.note(entry.end);
  }

  /**
   * Decides one request with this key (proxied or verified) and returns the whole decision. An
   * object that has never been written (a key inserted into D1 by other means) answers null, and
   * the caller asks again with its cached snapshot to seed it; a written object never takes a
   * cache's word over its own. `use` says who asked, from where, for the key's usage records.
   */
  decide(neededScopes: readonly string[], snapshot?: KeyPolicy, use?: UseContext): Decision | null {
    if (!this.state) {
      if (!snapshot) return null;
      this.save(snapshot);
    }
    const now = this.clock.now();
    const decision = decide(this.state!, now, neededScopes, this.window);
    this.usage.record(decision.verdict, use, now);
    if (decision.verdict === "valid") {
      this.rate.note(now);
      this.admittedSinceWrite++;
      if (!covers(this.reservation, this.reservedUsed, now)) {
        // Outside the stored reservation: this admission is written, with the next reservation,
        // before its reply (the output gate holds the reply until storage confirms it).
        this.write(now, "renew");
        return decision;
      }
      this.reservedUsed++;
    }
    this.writeSoon(now);
    return decision;
  }

  /**
   * Records a refusal the worker decided without this object: a key its cache already knows to be
   * revoked (verify.ts saves that trip, and calls this after answering).
   */
  recordRefusal(verdict: Verdict, use: UseContext): void {
    const now = this.clock.now();
    this.usage.record(verdict, use, now);
    this.writeSoon(now);
  }

  /**
   * Admin write-through: the change is durable here before the admin call returns. A tenant
   * status change carries `tenantVersion`; one older than the version already written is ignored,
   * so two suspensions and reactivations racing through their fan-outs end as the newer one says.
   */
  update(change: Partial<KeyPolicy>, snapshot: KeyPolicy, tenantVersion?: number): void {
    const current: GuardState = this.state ?? snapshot;
    const next: GuardState = { ...current, ...change, status: nextStatus(current.status, change.status) };
    if (change.tenantActive !== undefined && tenantVersion !== undefined) {
      if (tenantVersion < (current.tenantVersion ?? -Infinity)) next.tenantActive = current.tenantActive;
      else next.tenantVersion = tenantVersion;
    }
    this.save(next);
  }

  /**
   * The first step of a rotation: claims this key's one successor and shortens its life to
   * `expiresAt`. False when the key was already rotated or can no longer be used.
   */
  claimRotation(successorId: string, expiresAt: number, snapshot: KeyPolicy): boolean {
    const current: GuardState = this.state ?? snapshot;
    if (current.rotatedTo || current.status !== "active") return false;
    this.save({ ...current, rotatedTo: successorId, expiresAt: Math.min(current.expiresAt ?? Infinity, expiresAt) });
    return true;
  }

  getUsage(): KeyUsage {
    return { ...this.usage.usage };
  }

  /**
   * What this instance has written, and what its window holds: the benchmark reports rows written
   * per decision (Cloudflare bills each), and stored rows to show the ledger's bound.
   */
  storageStats(): { rowsWritten: number; alarmsSet: number; storedRows: number; windowEntries: number } {
    const storedRows = this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM ledger").one().n;
    return { rowsWritten: this.rowsWritten, alarmsSet: this.alarmsSet, storedRows, windowEntries: this.window.entryCount };
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

  /** Schedules the write of what the last decisions changed (see PERSIST_EVERY_MS). */
  private writeSoon(now: number): void {
    this.writes.schedule(Math.max(now, this.writtenAt + PERSIST_EVERY_MS), now);
  }

  /**
   * The timer's write: what waits, with a fresh reservation; or, when nothing waits and the stored
   * reservation ran out unused (the key fell quiet), its release, so that a restart after a quiet
   * spell costs nothing.
   */
  private writeDue(): void {
    const now = this.clock.now();
    if (this.window.dirty || this.usage.dirty) return this.write(now, this.admittedSinceWrite > 0 ? "renew" : "keep");
    if (this.reservation.admissions > this.reservedUsed && now >= this.reservation.until) this.write(now, "release");
    else if (this.reservation.admissions > this.reservedUsed) this.writes.schedule(this.reservation.until, now);
  }

  /**
   * Writes one row: the window's new entries, the usage counted since the last write and the
   * reservation that covers the admissions to come, in the object's one transaction. The
   * reservation is sized afresh after admissions ("renew"), is what is left of the current one
   * after none ("keep"), or none ("release"); a key that cannot be used gets none. Whoever writes
   * takes the place of any write still scheduled.
   */
  private write(now: number, reservation: "renew" | "keep" | "release"): void {
    this.writes.cancel();
    const changes = this.window.takeChanges();
    if (changes.rewrite) this.epochs = { ...this.epochs, [WINDOW]: (this.epochs[WINDOW] ?? 0) + 1 };
    this.reservation = reservation === "renew" ? this.reservationFrom(now) : reservation === "keep" ? this.leftOver(now) : NO_RESERVATION;
    this.reservedUsed = 0;
    this.admittedSinceWrite = 0;
    const forwardDue = this.usage.hoursChanged;
    const { changedHours, events } = this.usage.take();
    const head: LedgerHead = { ...this.usage.state(now), reservation: this.reservation, epochs: this.epochs };
    this.ledger.write(
      { head, windows: [{ name: WINDOW, changes }], hours: this.usage.hours, changedHours, events },
      {
        windows: [{ name: WINDOW, live: this.window.live() }],
        hours: this.usage.hours,
        hoursAfter: now - KEY_RETENTION_MS,
        oldestEvent: this.usage.oldestEvent,
      },
    );
    this.writtenAt = now;
    // New counts to forward: the tenant's totals follow (see FORWARD_DELAY_MS).
    if (forwardDue) this.wakeAt(this.nextForward(now));
    // Released when it runs out unused (see writeDue).
    if (this.reservation.admissions > 0) this.writes.schedule(this.reservation.until, now);
  }

  /** What is left of the current reservation, if it has not ended. */
  private leftOver(now: number): Reservation {
    const { admissions, until } = this.reservation;
    return now <= until && admissions > this.reservedUsed ? { admissions: admissions - this.reservedUsed, until } : NO_RESERVATION;
  }

  /** The reservation to store now: sized by the key's recent rate and its window's room. */
  private reservationFrom(now: number): Reservation {
    const state = this.state;
    if (!state || state.status !== "active" || !state.tenantActive || (state.expiresAt !== null && state.expiresAt <= now)) return NO_RESERVATION;
    const windowMs = state.windowSeconds * 1000;
    return nextReservation(now, this.rate.perSecond(now), [{ limit: state.limit, windowMs, room: this.window.room(now, state.limit, windowMs) }]);
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

  /**
   * Stored first, then believed: if the write throws, memory still matches storage. Decisions not
   * yet written go in the same transaction, with a reservation sized for the new policy.
   */
  private save(state: GuardState): void {
    const previous = this.state;
    this.state = state;
    try {
      this.ctx.storage.transactionSync(() => {
        this.sql.exec(
          "INSERT INTO guard (id, policy) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET policy = excluded.policy",
          JSON.stringify(state),
        );
        this.write(this.clock.now(), "renew");
      });
    } catch (error) {
      this.state = previous;
      throw error;
    }
  }
}
