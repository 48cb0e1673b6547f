import { DurableObject } from "cloudflare:workers";
import { decide, type Decision } from "../authority/decision";
import type { KeyPolicy } from "../authority/key";
import { nextStatus } from "../authority/status";
import { KEY_GUARD_STORAGE } from "../upgrades/guard-storage";
import { upgradeObjectStorage } from "../upgrades/object-storage";
import { SlidingLog } from "./sliding-log";

export interface KeyUsage {
  requests: number;
  rateLimited: number;
  lastUsedAt: number | null;
}

/** What the object stores beside the policy, to order concurrent admin writes. */
interface GuardState extends KeyPolicy {
  /** The tenant status version last written, so a late fan-out cannot undo a newer one. */
  tenantVersion?: number;
  /** Set once by the first rotation; a second, concurrent rotation is refused. */
  rotatedTo?: string;
}

/** How stale the stored 429 count may get: refusals are counted in memory, written at most this often. */
const REFUSAL_FLUSH_MS = 1_000;

/**
 * One object per key, addressed by key id: the single point of truth for the key's status and
 * its exact sliding window. Every authenticated request asks it, so a revocation written here is
 * seen by the very next request from any isolate, whatever KV or an isolate cache still says.
 */
export class KeyGuard extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private readonly log: SlidingLog;
  private state: GuardState | null = null;
  private usage: KeyUsage = { requests: 0, rateLimited: 0, lastUsedAt: null };
  private usageWrittenAt = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    // Storage left by any earlier release is brought up to this one's tables before anything reads it.
    upgradeObjectStorage(ctx.storage, KEY_GUARD_STORAGE);
    const row = this.sql
      .exec<{ policy: string; requests: number; rate_limited: number; last_used_at: number | null }>(
        "SELECT policy, requests, rate_limited, last_used_at FROM guard WHERE id = 1",
      )
      .toArray()[0];
    if (row) {
      this.state = JSON.parse(row.policy) as GuardState;
      this.usage = { requests: row.requests, rateLimited: row.rate_limited, lastUsedAt: row.last_used_at };
    }
    this.log = new SlidingLog(this.sql, "hits");
  }

  /**
   * Decides one request with this key (proxied or verified) and returns the whole decision. An
   * object that has never been written (a key inserted into D1 by other means) answers null, and
   * the caller asks again with its cached snapshot to seed it; a written object never takes a
   * cache's word over its own.
   */
  decide(neededScopes: readonly string[], snapshot?: KeyPolicy): Decision | null {
    if (!this.state) {
      if (!snapshot) return null;
      this.save(snapshot);
    }
    const now = Date.now();
    const decision = decide(this.state!, now, neededScopes, this.log);
    if (decision.verdict === "valid") {
      this.usage.requests++;
      this.usage.lastUsedAt = now;
    } else if (decision.verdict === "rate_limited") {
      this.usage.rateLimited++;
    } else {
      return decision;
    }
    // An admission writes anyway; a refusal should cost no storage, so its count waits a little.
    if (decision.verdict === "valid" || now - this.usageWrittenAt >= REFUSAL_FLUSH_MS) this.writeUsage(now);
    return decision;
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
    return { ...this.usage };
  }

  private writeUsage(now: number): void {
    this.sql.exec(
      "UPDATE guard SET requests = ?, rate_limited = ?, last_used_at = ? WHERE id = 1",
      this.usage.requests,
      this.usage.rateLimited,
      this.usage.lastUsedAt,
    );
    this.usageWrittenAt = now;
  }

  /** Stored first, then believed: if the write throws, memory still matches storage. */
  private save(state: GuardState): void {
    this.sql.exec(
      "INSERT INTO guard (id, policy) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET policy = excluded.policy",
      JSON.stringify(state),
    );
    this.state = state;
  }
}
