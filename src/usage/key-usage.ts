import { VERDICT_CODES, type Verdict } from "../authority/verdicts";
import { ERROR_STATUS } from "../http/errors";
import { KEY_RETENTION_MS } from "./buckets";
import type { UseContext } from "./context";
import { EventRing } from "./event-ring";
import { HourlyCounts } from "./hourly-counts";

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

/** One decision as the key's object stores it (snake_case: it is a table row). */
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

/**
 * What a key's object remembers about the key's use: the counters, the last use, hourly counts by
 * outcome for 30 days (at most 721 rows) and the last 200 decisions (at most 201 rows). Everything is counted in
 * memory, which is the truth while the object lives, and written by `flush()` in the object's
 * batched write after its replies (at most once every 5 s: USAGE_PERSIST_EVERY_MS).
 */
export class KeyUsageLog {
  readonly usage: KeyUsage = { requests: 0, rateLimited: 0, lastUsedAt: null, lastUsedIp: null, lastUsedCountry: null };
  /** The key and its tenant, as the worker last said: where the hourly counts are forwarded to. */
  owner: { keyId: string; tenantId: string } | null = null;
  readonly hours: HourlyCounts;
  readonly events: EventRing<KeyEventRow>;
  private countersDirty = false;

  constructor(private readonly sql: SqlStorage) {
    const row = sql
      .exec<{ requests: number; rate_limited: number; last_used_at: number | null; last_used_ip: string | null; last_used_country: string | null; key_id: string | null; tenant_id: string | null }>(
        "SELECT requests, rate_limited, last_used_at, last_used_ip, last_used_country, key_id, tenant_id FROM guard WHERE id = 1",
      )
      .toArray()[0];
    if (row) {
      this.usage = {
        requests: row.requests,
        rateLimited: row.rate_limited,
        lastUsedAt: row.last_used_at,
        lastUsedIp: row.last_used_ip,
        lastUsedCountry: row.last_used_country,
      };
      if (row.key_id && row.tenant_id) this.owner = { keyId: row.key_id, tenantId: row.tenant_id };
    }
    this.hours = new HourlyCounts(sql, "usage_hours", KEY_RETENTION_MS);
    this.events = new EventRing(sql, "usage_event_chunks", KEY_EVENTS);
  }

  /** Counts one decision in memory. */
  record(verdict: Verdict, use: UseContext | undefined, now: number): void {
    const code = VERDICT_CODES[verdict];
    if (verdict === "valid") {
      this.usage.requests++;
      this.usage.lastUsedAt = now;
      this.usage.lastUsedIp = use?.ip ?? null;
      this.usage.lastUsedCountry = use?.country ?? null;
    } else if (verdict === "rate_limited") {
      this.usage.rateLimited++;
    }
    this.countersDirty = true;
    this.hours.add(now, code);
    if (use) {
      if (this.owner?.keyId !== use.keyId || this.owner.tenantId !== use.tenantId) this.owner = { keyId: use.keyId, tenantId: use.tenantId };
      this.events.push({
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
    }
  }

  get dirty(): boolean {
    return this.countersDirty || this.events.dirty || this.hours.dirty;
  }

  /** Writes everything counted since the last flush; the caller wraps it in its transaction. */
  flush(): void {
    if (this.countersDirty) {
      const { requests, rateLimited, lastUsedAt, lastUsedIp, lastUsedCountry } = this.usage;
      this.sql.exec(
        "UPDATE guard SET requests = ?, rate_limited = ?, last_used_at = ?, last_used_ip = ?, last_used_country = ?, key_id = ?, tenant_id = ? WHERE id = 1",
        requests,
        rateLimited,
        lastUsedAt,
        lastUsedIp,
        lastUsedCountry,
        this.owner?.keyId ?? null,
        this.owner?.tenantId ?? null,
      );
      this.countersDirty = false;
    }
    this.hours.flush();
    this.events.flush();
  }
}
