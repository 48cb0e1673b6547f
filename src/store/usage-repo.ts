import { DAY_MS, type CodeCounts, type UsageRange } from "../usage/buckets";

/**
 * Tenant totals in D1: `tenant_usage_hourly` holds each key's hourly counts (admissions, 429s,
 * other refusals by code as JSON), forwarded by the key's object at most every few seconds;
 * `key_last_used` each key's last admission, for key lists. Both written only by those forwards
 * (each key at most once a minute, many keys to a D1 batch: see usage/totals-forwarder.ts).
 */

/** The statements one forward makes: absolute values, so a repeated forward changes nothing. */
export function forwardStatements(
  db: D1Database,
  owner: { keyId: string; tenantId: string },
  hours: { hour: number; counts: string }[],
  lastUsedAt: number | null,
): D1PreparedStatement[] {
  const statements = hours.map(({ hour, counts }) => {
    const { valid = 0, rate_limit_exceeded = 0, ...refused } = JSON.parse(counts) as CodeCounts;
    return db
      .prepare(
        `INSERT INTO tenant_usage_hourly (tenant_id, hour, key_id, admitted, rate_limited, refused) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (tenant_id, hour, key_id) DO UPDATE SET admitted = excluded.admitted, rate_limited = excluded.rate_limited, refused = excluded.refused`,
      )
      .bind(owner.tenantId, hour, owner.keyId, valid, rate_limit_exceeded, JSON.stringify(refused));
  });
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

/** SQL for a row's bucket start: hours as stored, or the UTC day they fall in. */
function bucketSql(range: UsageRange): string {
  return range.granularity === "hour" ? "u.hour" : `(u.hour / ${DAY_MS}) * ${DAY_MS}`;
}

export interface TenantUsageRows {
  /** Per bucket (hour or day start), counts by code. */
  buckets: [number, CodeCounts][];
  /** Per key, counts by code over the range. */
  keys: Map<string, CodeCounts>;
}

/**
 * A tenant's counts in the range, summed in D1 (per bucket, and per key), refusals unpacked from
 * their JSON with json_each. `environment` confines it to one environment's keys (self-service).
 */
export async function tenantUsage(db: D1Database, tenantId: string, range: UsageRange, environment: string | null): Promise<TenantUsageRows> {
  const join = environment === null ? "" : "JOIN api_keys k ON k.id = u.key_id AND k.environment = ?";
  const binds = [...(environment === null ? [] : [environment]), tenantId, range.from, range.to];
  const where = "WHERE u.tenant_id = ? AND u.hour >= ? AND u.hour < ?";
  const from = `FROM tenant_usage_hourly u ${join}`;
  const group = (column: string) =>
    db
      .prepare(
        `SELECT ${column} AS g, 'valid' AS code, sum(u.admitted) AS n ${from} ${where} GROUP BY g
         UNION ALL SELECT ${column} AS g, 'rate_limit_exceeded' AS code, sum(u.rate_limited) AS n ${from} ${where} GROUP BY g
         UNION ALL SELECT ${column} AS g, r.key AS code, sum(r.value) AS n ${from}, json_each(u.refused) r ${where} GROUP BY g, r.key`,
      )
      .bind(...binds, ...binds, ...binds);
  const [byBucket, byKey] = await db.batch<{ g: number | string; code: string; n: number }>([group(bucketSql(range)), group("u.key_id")]);
  const collect = <K>(rows: { g: number | string; code: string; n: number }[]) => {
    const out = new Map<K, CodeCounts>();
    for (const row of rows) {
      if (!row.n) continue;
      const counts = out.get(row.g as K) ?? {};
      counts[row.code] = row.n;
      out.set(row.g as K, counts);
    }
    return out;
  };
  return { buckets: [...collect<number>(byBucket!.results)], keys: collect<string>(byKey!.results) };
}

