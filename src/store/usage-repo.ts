/**
 * Tenant totals in D1: `tenant_usage_hourly` holds each key's hourly counts (admissions, the cost
 * units they spent, 429s of a window, other refusals by code as JSON), forwarded by the key's
 * object at most every few seconds; `key_last_used` each key's last admission, for key lists. Both
 * written only by those forwards (each key at most once a minute, many keys to a D1 batch: see
 * usage/totals-forwarder.ts, which reads counts into these columns).
 */

/** One key's hour as the columns hold it. */
export interface HourTotals {
  hour: number;
  admitted: number;
  units: number;
  rateLimited: number;
  /** Other refusals by code. */
  refused: Record<string, number>;
}

/** The statements one forward makes: absolute values, so a repeated forward changes nothing. */
export function forwardStatements(
  db: D1Database,
  owner: { keyId: string; tenantId: string },
  hours: readonly HourTotals[],
  lastUsedAt: number | null,
): D1PreparedStatement[] {
  const statements = hours.map(({ hour, admitted, units, rateLimited, refused }) =>
    db
      .prepare(
        `INSERT INTO tenant_usage_hourly (tenant_id, hour, key_id, admitted, units, rate_limited, refused) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (tenant_id, hour, key_id) DO UPDATE SET admitted = excluded.admitted, units = excluded.units,
           rate_limited = excluded.rate_limited, refused = excluded.refused`,
      )
      .bind(owner.tenantId, hour, owner.keyId, admitted, units, rateLimited, JSON.stringify(refused)),
  );
  if (lastUsedAt !== null) {
    statements.push(
      db
        .prepare(
          `INSERT INTO key_last_used (key_id, last_used_at) VALUES (?, ?)
           ON CONFLICT (key_id) DO UPDATE SET last_used_at = max(last_used_at, excluded.last_used_at)`,
        )
        .bind(owner.keyId, lastUsedAt),
    );
  }
  return statements;
}

/**
 * Drops a tenant's hours before `oldestKept`. Whoever forwards prunes: no separate job, and the
 * primary key's (tenant_id, hour) prefix makes it a range delete.
 */
export function pruneStatement(db: D1Database, tenantId: string, oldestKept: number): D1PreparedStatement {
  return db.prepare("DELETE FROM tenant_usage_hourly WHERE tenant_id = ? AND hour < ?").bind(tenantId, oldestKept);
}

/**
 * Last admissions of the given keys, as forwarded so far. A convenience beside a key's view: if it
 * cannot be read (D1 trouble, or a database not yet migrated while a deploy rolls out) the view
 * shows null rather than failing a call whose real work is done.
 */
export async function lastUsedOf(db: D1Database, keyIds: string[]): Promise<Map<string, number>> {
  if (keyIds.length === 0) return new Map();
  try {
    const { results } = await db
      .prepare(`SELECT key_id, last_used_at FROM key_last_used WHERE key_id IN (${keyIds.map(() => "?").join(", ")})`)
      .bind(...keyIds)
      .all<{ key_id: string; last_used_at: number }>();
    return new Map(results.map((row) => [row.key_id, row.last_used_at]));
  } catch (error) {
    console.error("keygate: could not read keys' last use", error);
    return new Map();
  }
}

/** One key's last admission, as forwarded so far (see lastUsedOf). */
export async function lastUsedAt(db: D1Database, keyId: string): Promise<number | null> {
  return (await lastUsedOf(db, [keyId])).get(keyId) ?? null;
}

/** What a tenant's usage is read by: `[from, to)` in buckets of `bucketMs` (an hour or a day), maybe one environment's keys. */
export interface TotalsQuery {
  from: number;
  to: number;
  bucketMs: number;
  /** Confines it to one environment's keys (self-service). */
  environment: string | null;
}

/** Counts by column name (`valid`, `units`, `rate_limit_exceeded`) and by refusal code, per group. */
export type GroupCounts = Map<string | number, Record<string, number>>;

export interface TenantUsageRows {
  /** Per bucket start. */
  buckets: GroupCounts;
  /** Per key, over the range. */
  keys: GroupCounts;
}

/**
 * A tenant's counts in the range, summed in D1 (per bucket, and per key), refusals unpacked from
 * their JSON with json_each, each under the code it is counted by (`valid` for admissions, `units`
 * for the cost they spent, `rate_limit_exceeded` for a window's 429s).
 */
export async function tenantUsage(db: D1Database, tenantId: string, query: TotalsQuery): Promise<TenantUsageRows> {
  const join = query.environment === null ? "" : "JOIN api_keys k ON k.id = u.key_id AND k.environment = ?";
  const binds = [...(query.environment === null ? [] : [query.environment]), tenantId, query.from, query.to];
  const where = "WHERE u.tenant_id = ? AND u.hour >= ? AND u.hour < ?";
  const from = `FROM tenant_usage_hourly u ${join}`;
  const group = (column: string) =>
    db
      .prepare(
        `SELECT ${column} AS g, 'valid' AS code, sum(u.admitted) AS n ${from} ${where} GROUP BY g
         UNION ALL SELECT ${column} AS g, 'units' AS code, sum(u.units) AS n ${from} ${where} GROUP BY g
         UNION ALL SELECT ${column} AS g, 'rate_limit_exceeded' AS code, sum(u.rate_limited) AS n ${from} ${where} GROUP BY g
         UNION ALL SELECT ${column} AS g, r.key AS code, sum(r.value) AS n ${from}, json_each(u.refused) r ${where} GROUP BY g, r.key`,
      )
      .bind(...binds, ...binds, ...binds, ...binds);
  const [byBucket, byKey] = await db.batch<{ g: number | string; code: string; n: number }>([
    group(`(u.hour / ${query.bucketMs}) * ${query.bucketMs}`),
    group("u.key_id"),
  ]);
  const collect = (rows: { g: number | string; code: string; n: number }[]): GroupCounts => {
    const out: GroupCounts = new Map();
    for (const row of rows) {
      if (!row.n) continue;
      const counts = out.get(row.g) ?? {};
      counts[row.code] = row.n;
      out.set(row.g, counts);
    }
    return out;
  };
  return { buckets: collect(byBucket!.results), keys: collect(byKey!.results) };
}
