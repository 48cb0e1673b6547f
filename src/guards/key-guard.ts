import { DurableObject } from "cloudflare:workers";
import { decide, type Decision } from "../authority/decision";
import type { KeyPolicy } from "../authority/key";
import { nextStatus } from "../authority/status";
import type { Verdict } from "../authority/verdicts";
import { type UsageRange, denseSeries } from "../usage/buckets";
import type { UseContext } from "../usage/context";
import { KeyUsageLog, type KeyEventRow, type KeyUsage } from "../usage/key-usage";
import { forwarderName } from "../usage/totals-forwarder";
import { KEY_GUARD_STORAGE } from "../upgrades/guard-storage";
import { upgradeObjectStorage } from "../upgrades/object-storage";
import { SlidingWindow } from "./sliding-window";
import { WriteBehind } from "./write-behind";
import { countingWrites } from "./storage-stats";

export type { KeyUsage };

/** What the object stores beside the policy, to order concurrent admin writes. */
interface GuardState extends KeyPolicy {
  /** The tenant status version last written, so a late fan-out cannot undo a newer one. */
  tenantVersion?: number;
  /** Set once by the first rotation; a second, concurrent rotation is refused. */
  rotatedTo?: string;
}

/**
 * Decisions are made in memory and written after the reply, the window at most this often per
 * key: the first admission after a quiet spell right after its reply, later ones batched into the
 * next write. So no reply waits for storage (on Cloudflare each write holds every reply made after
 * it until storage replicas confirm it, 5–13 ms), a busy key's window costs one write a second,
 * and what a machine failure can cost is the admissions of at most the last PERSIST_EVERY_MS (plus
 * a write's confirmation). Admin writes (update, claimRotation) are the exception: they are
 * stored before they return, with everything still waiting.
 */
export const PERSIST_EVERY_MS = 1_000;
/**
 * Usage (counters, the hour's counts, events) is written at most this often: it decides nothing,
 * so a busy key pays its three rows once per 5 s rather than once a second. The first decision
 * after a quiet spell is written at once, like an admission.
 */
export const USAGE_PERSIST_EVERY_MS = 5_000;
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
 */
export class KeyGuard extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private readonly window: SlidingWindow;
  private state: GuardState | null = null;
  private readonly usage: KeyUsageLog;
  /** When the alarm is set for, as far as this instance knows (null: none it set). */
  private alarmAt: number | null = null;
  /** When this instance last forwarded (0 after a start: the first forward need not wait). */
  private forwardedAt = Number.NEGATIVE_INFINITY;
  /** The write of decisions after the replies (see PERSIST_EVERY_MS), and when each part last ran. */
  private readonly writes = new WriteBehind(() => this.persist(false));
  private windowWrittenAt = Number.NEGATIVE_INFINITY;
  private usageWrittenAt = Number.NEGATIVE_INFINITY;
  /** SQLite rows this instance has written (Cloudflare bills them): see storageStats. */
  private rowsWritten = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = countingWrites(ctx.storage.sql, (rows) => {
      this.rowsWritten += rows;
    });
    // Storage left by any earlier release is brought up to this one's tables before anything reads it.
    upgradeObjectStorage(ctx.storage, KEY_GUARD_STORAGE);
    const row = this.sql.exec<{ policy: string }>("SELECT policy FROM guard WHERE id = 1").toArray()[0];
    if (row) this.state = JSON.parse(row.policy) as GuardState;
    this.usage = new KeyUsageLog(this.sql);
    const windowMs = this.state ? this.state.windowSeconds * 1000 : Number.POSITIVE_INFINITY;
    this.window = new SlidingWindow(this.sql, "window_entries", Date.now() - windowMs);
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
    const now = Date.now();
    const decision = decide(this.state!, now, neededScopes, this.window);
    this.usage.record(decision.verdict, use, now);
    this.persistSoon(now);
    return decision;
  }

  /**
   * Records a refusal the worker decided without this object: a key its cache already knows to be
   * revoked (verify.ts saves that trip, and calls this after answering).
   */
  recordRefusal(verdict: Verdict, use: UseContext): void {
    const now = Date.now();
    this.usage.record(verdict, use, now);
    this.persistSoon(now);
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
   * What this instance has written, and what its window stores: the benchmark reports rows written
   * per decision (Cloudflare bills each), and stored rows to show the window's bound.
   */
  storageStats(): { rowsWritten: number; storedRows: number; windowEntries: number } {
    const storedRows = this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM window_entries").one().n;
    return { rowsWritten: this.rowsWritten, storedRows, windowEntries: this.window.entryCount };
  }

  /** The key's counts in the range, bucketed; memory is written first, so nothing counted is missed. */
  usageSeries(range: UsageRange) {
    this.flushUsage(Date.now());
    return { ...denseSeries(range, this.usage.hours.read(range.from, range.to)), usage: this.getUsage() };
  }

  /** The key's last decisions, newest first, before event `beforeSeq` if given. */
  events(limit: number, beforeSeq: number | null): { rows: (KeyEventRow & { seq: number })[]; hasMore: boolean } {
    this.flushUsage(Date.now());
    return this.usage.events.page(limit, beforeSeq);
  }

  /**
   * Writes usage still in memory, then forwards the hourly counts toward D1 (see FORWARD_DELAY_MS):
   * no request ever waits on D1 for this.
   */
  override async alarm(): Promise<void> {
    this.alarmAt = null;
    const now = Date.now();
    this.flushUsage(now, false);
    const owner = this.usage.owner;
    const hours = this.usage.hours.unsynced();
    if (!owner || hours.length === 0) return;
    // Woken early (an alarm set by an earlier release): the forward waits for its turn.
    if (now < this.forwardedAt + FORWARD_EVERY_MS) return this.wakeAt(this.forwardedAt + FORWARD_EVERY_MS);
    this.forwardedAt = now;
    try {
      // Returns once D1 holds them, in a batch shared with other keys' counts (see UsageForwarder).
      await this.env.USAGE_FORWARDER.getByName(forwarderName(owner.keyId)).forward({ owner, hours, lastUsedAt: this.usage.usage.lastUsedAt });
    } catch (error) {
      console.error("keygate: forwarding usage to D1 failed; retrying", error);
      return this.wakeAt(now + FORWARD_RETRY_MS);
    }
    // An hour counted again while D1 was written stays unsynced and goes with the next forward.
    for (const { hour, counts } of hours) this.usage.hours.markSynced(hour, counts);
    if (this.usage.hours.unsynced().length > 0) this.wakeAt(this.nextForward(Date.now()));
  }

  /** Schedules the write of what the last decisions changed (see PERSIST_EVERY_MS). */
  private persistSoon(now: number): void {
    const due = this.window.dirty ? this.windowWrittenAt + PERSIST_EVERY_MS : this.usageWrittenAt + USAGE_PERSIST_EVERY_MS;
    this.writes.schedule(due, now);
  }

  /**
   * Writes the window's changes, and the usage counted since its last write when that is due (or
   * `everything`), in one transaction; whatever still waits is scheduled again.
   */
  private persist(everything = true): void {
    // Whoever writes now (the timer, or an admin write) takes the place of any write still scheduled.
    this.writes.cancel();
    const now = Date.now();
    if (this.window.dirty) {
      this.window.flush();
      this.windowWrittenAt = now;
    }
    if (this.usage.dirty && (everything || now >= this.usageWrittenAt + USAGE_PERSIST_EVERY_MS)) {
      this.flushUsage(now);
      this.usageWrittenAt = now;
    }
    if (this.usage.dirty) this.persistSoon(now);
  }

  private flushUsage(now: number, scheduleForward = true): void {
    if (!this.usage.dirty) return;
    // No await between these writes and the window's: the object commits them all at once.
    this.usage.flush();
    // New counts to forward: the tenant's totals follow (see FORWARD_DELAY_MS).
    if (scheduleForward) this.wakeAt(this.nextForward(now));
  }

  private nextForward(now: number): number {
    return Math.max(now + FORWARD_DELAY_MS, this.forwardedAt + FORWARD_EVERY_MS);
  }

  /** Sets the alarm unless one is already due sooner: at most one alarm write per wake-up. */
  private wakeAt(at: number): void {
    if (this.alarmAt !== null && this.alarmAt <= at) return;
    this.alarmAt = at;
    void this.ctx.storage.setAlarm(at);
  }

  /**
   * Stored first, then believed: if the write throws, memory still matches storage. Decisions not
   * yet written go in the same transaction, so an admin write leaves nothing behind in memory.
   */
  private save(state: GuardState): void {
    this.persist();
    this.sql.exec(
      "INSERT INTO guard (id, policy) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET policy = excluded.policy",
      JSON.stringify(state),
    );
    this.state = state;
  }
}
