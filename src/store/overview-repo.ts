import type { AuditRow } from "./audit-repo";

/**
 * What the console's first page reads, across every tenant, in one D1 batch. Usage comes from the
 * tenant totals the key objects forward (never the objects one by one); `tenant_id IN (SELECT id
 * FROM tenants)` lets each tenant's rows be read as a range of the table's (tenant_id, hour, key_id)
 * key instead of scanning 30 days of every tenant for one day.
 */

/** A key as the overview names it: enough to link to it and say whose it is. */
export interface NamedKeyRow {
  key_id: string;
  name: string | null;
  display: string;
  tenant_id: string;
  tenant_name: string;
}

export interface BusyKeyRow extends NamedKeyRow {
  admitted: number;
  rate_limited: number;
  refused: number;
}

export interface RefusalRow extends NamedKeyRow {
  code: string;
  count: number;
}

export interface ExpiringKeyRow extends NamedKeyRow {
  expires_at: number;
  rotated_to: string | null;
}

export interface OverviewRows {
  /** Per hour, counts by code over every tenant (`valid`, `units`, `rate_limit_exceeded`, refusals by code). */
  hours: [number, Record<string, number>][];
  busiest: BusyKeyRow[];
  refusals: RefusalRow[];
  expiring: ExpiringKeyRow[];
  failedSignins: AuditRow[];
}

const IN_RANGE = "u.tenant_id IN (SELECT id FROM tenants) AND u.hour >= ? AND u.hour < ?";
const NAMED = "k.name, k.display, k.tenant_id, t.name AS tenant_name";
const NAMED_JOIN = "JOIN api_keys k ON k.id = x.key_id JOIN tenants t ON t.id = k.tenant_id";
/** Refusals keygate counts as failed sign-ins, in the audit trail. */
const FAILED_SIGNIN_ACTIONS = ["signin.failed", "signin.throttled"];

export async function readOverview(
  db: D1Database,
  range: { from: number; to: number },
  expiring: { from: number; to: number },
  limits: { keys: number; signins: number },
): Promise<OverviewRows> {
  const span = [range.from, range.to];
  const hours = db
    .prepare(
      `SELECT u.hour AS hour, 'valid' AS code, sum(u.admitted) AS n FROM tenant_usage_hourly u WHERE ${IN_RANGE} GROUP BY u.hour
       UNION ALL SELECT u.hour, 'units', sum(u.units) FROM tenant_usage_hourly u WHERE ${IN_RANGE} GROUP BY u.hour
       UNION ALL SELECT u.hour, 'rate_limit_exceeded', sum(u.rate_limited) FROM tenant_usage_hourly u WHERE ${IN_RANGE} GROUP BY u.hour
       UNION ALL SELECT u.hour, r.key, sum(r.value) FROM tenant_usage_hourly u, json_each(u.refused) r WHERE ${IN_RANGE} GROUP BY u.hour, r.key`,
    )
    .bind(...span, ...span, ...span, ...span);
  const busiest = db
    .prepare(
      `SELECT x.key_id, ${NAMED}, x.admitted, x.rate_limited, x.refused FROM (
         SELECT u.key_id, sum(u.admitted) AS admitted, sum(u.rate_limited) AS rate_limited,
                sum((SELECT coalesce(sum(r.value), 0) FROM json_each(u.refused) r)) AS refused
         FROM tenant_usage_hourly u WHERE ${IN_RANGE} GROUP BY u.key_id
       ) x ${NAMED_JOIN}
       ORDER BY x.admitted + x.rate_limited + x.refused DESC, x.key_id LIMIT ?`,
    )
    .bind(...span, limits.keys);
  const refusals = db
    .prepare(
      `SELECT x.key_id, ${NAMED}, x.code, x.count FROM (
         SELECT u.key_id, r.key AS code, sum(r.value) AS count FROM tenant_usage_hourly u, json_each(u.refused) r WHERE ${IN_RANGE} GROUP BY u.key_id, r.key
         UNION ALL SELECT u.key_id, 'rate_limit_exceeded', sum(u.rate_limited) FROM tenant_usage_hourly u WHERE ${IN_RANGE} GROUP BY u.key_id
       ) x ${NAMED_JOIN}
       WHERE x.count > 0 ORDER BY x.count DESC, x.key_id, x.code LIMIT ?`,
    )
    .bind(...span, ...span, limits.keys);
  // api_keys_expiring covers exactly the keys with an expiry, so this reads only those due soon.
  const soon = db
    .prepare(
      `SELECT k.id AS key_id, ${NAMED}, k.expires_at, k.rotated_to FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
       WHERE k.expires_at > ? AND k.expires_at <= ? AND k.revoked_at IS NULL AND k.deleted_at IS NULL
       ORDER BY k.expires_at, k.id LIMIT ?`,
    )
    .bind(expiring.from, expiring.to, limits.keys);
  const signins = db
    .prepare(
      `SELECT id, actor_type, actor_id, action, resource_type, resource_id, tenant_id, request_id, details, created_at FROM audit_events
       WHERE action IN (${FAILED_SIGNIN_ACTIONS.map(() => "?").join(", ")}) AND created_at >= ? ORDER BY created_at DESC, id DESC LIMIT ?`,
    )
    .bind(...FAILED_SIGNIN_ACTIONS, range.from, limits.signins);

  const [byHour, busy, refused, due, failed] = await db.batch([hours, busiest, refusals, soon, signins]);
  const counts = new Map<number, Record<string, number>>();
  for (const row of byHour!.results as { hour: number; code: string; n: number }[]) {
    if (!row.n) continue;
    const hour = counts.get(row.hour) ?? {};
    hour[row.code] = row.n;
    counts.set(row.hour, hour);
  }
  return {
    hours: [...counts],
    busiest: busy!.results as unknown as BusyKeyRow[],
    refusals: refused!.results as unknown as RefusalRow[],
    expiring: due!.results as unknown as ExpiringKeyRow[],
    failedSignins: failed!.results as unknown as AuditRow[],
  };
}
