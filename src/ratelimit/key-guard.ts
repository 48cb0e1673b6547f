import { DurableObject } from "cloudflare:workers";
import type { KeyPolicy, KeyStatus } from "../store/records";
import { policyRefusal, type Verdict } from "./policy";
import { SlidingLog, type WindowState } from "./sliding-log";

export interface Admission {
  verdict: Verdict;
  /** The key's scopes as of this decision, for the identity headers. */
  scopes: string[];
  window: WindowState;
  windowSeconds: number;
}

export interface KeyUsage {
  requests: number;
  rateLimited: number;
  lastUsedAt: number | null;
}

/** Revoked and deleted are final: nothing brings a key back, though a revoked key may be deleted. */
function nextStatus(current: KeyStatus, requested: KeyStatus | undefined): KeyStatus {
  if (!requested || current === "deleted") return current;
  if (current === "revoked") return requested === "deleted" ? "deleted" : "revoked";
  return requested;
}

/**
 * One object per key, addressed by key id: the single point of truth for the key's status and
 * its exact sliding window. Every authenticated request asks it, so a revocation written here is
 * seen by the very next request from any isolate, whatever KV or an isolate cache still says.
 */
export class KeyGuard extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private readonly log: SlidingLog;
  private policy: KeyPolicy | null = null;
  private usage: KeyUsage = { requests: 0, rateLimited: 0, lastUsedAt: null };

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS guard (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      policy TEXT NOT NULL,
      requests INTEGER NOT NULL DEFAULT 0,
      rate_limited INTEGER NOT NULL DEFAULT 0,
      last_used_at INTEGER)`);
    const row = this.sql
      .exec<{ policy: string; requests: number; rate_limited: number; last_used_at: number | null }>(
        "SELECT policy, requests, rate_limited, last_used_at FROM guard WHERE id = 1",
      )
      .toArray()[0];
    if (row) {
      this.policy = JSON.parse(row.policy) as KeyPolicy;
      this.usage = { requests: row.requests, rateLimited: row.rate_limited, lastUsedAt: row.last_used_at };
    }
    this.log = new SlidingLog(this.sql, "hits");
  }

  /**
   * Decides one gateway request. `snapshot` seeds an object that has never been written (a key
   * created before its object existed); a written object never takes a cache's word over its own.
   */
  admit(neededScopes: readonly string[], snapshot: KeyPolicy): Admission {
    const policy = this.policy ?? this.save(snapshot);
    const now = Date.now();
    const windowMs = policy.windowSeconds * 1000;
    const { scopes, windowSeconds } = policy;
    const refusal = policyRefusal(policy, now, neededScopes);
    if (refusal) return { verdict: refusal, scopes, window: this.log.peek(now, policy.limit, windowMs), windowSeconds };

    const window = this.log.tryAdmit(now, policy.limit, windowMs);
    if (window.admitted) {
      this.usage.requests++;
      this.usage.lastUsedAt = now;
    } else {
      this.usage.rateLimited++;
    }
    this.sql.exec(
      "UPDATE guard SET requests = ?, rate_limited = ?, last_used_at = ? WHERE id = 1",
      this.usage.requests,
      this.usage.rateLimited,
      this.usage.lastUsedAt,
    );
    return { verdict: window.admitted ? "admitted" : "rate_limited", scopes, window, windowSeconds };
  }

  /** Admin write-through: the change is durable here before the admin call returns. */
  update(change: Partial<KeyPolicy>, snapshot: KeyPolicy): KeyPolicy {
    const current = this.policy ?? snapshot;
    return this.save({ ...current, ...change, status: nextStatus(current.status, change.status) });
  }

  getUsage(): KeyUsage {
    return { ...this.usage };
  }

  /** Stored first, then believed: if the write throws, memory still matches storage. */
  private save(policy: KeyPolicy): KeyPolicy {
    this.sql.exec(
      "INSERT INTO guard (id, policy) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET policy = excluded.policy",
      JSON.stringify(policy),
    );
    this.policy = policy;
    return policy;
  }
}
