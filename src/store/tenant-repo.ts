import type { Environment } from "../authority/key";
import type { Quota, TenantQuotas } from "../authority/plan";
import type { TenantStatus } from "../authority/tenant";
import { fetchPage, type Filter, type Page, type PageRequest } from "./page";

export interface TenantRow {
  id: string;
  name: string;
  status: TenantStatus;
  created_at: number;
  /** Also the version of the tenant's status and quotas: strictly increasing with every change. */
  updated_at: number;
  /** JSON TenantQuotas; null: none. */
  quotas: string | null;
}

const SELECT_TENANT = "SELECT id, name, status, created_at, updated_at, quotas FROM tenants";

export function quotasOf(row: Pick<TenantRow, "quotas">): TenantQuotas {
  return row.quotas ? (JSON.parse(row.quotas) as TenantQuotas) : {};
}

/** How a tenant's quotas are stored: null when there are none. */
export function quotasColumn(quotas: TenantQuotas): string | null {
  return Object.keys(quotas).length > 0 ? JSON.stringify(quotas) : null;
}

export function getTenant(db: D1Database, id: string): Promise<TenantRow | null> {
  return db.prepare(`${SELECT_TENANT} WHERE id = ?`).bind(id).first<TenantRow>();
}

export function listTenants(db: D1Database, filter: { status?: TenantRow["status"] }, page: PageRequest): Promise<Page<TenantRow>> {
  const where: Filter = filter.status ? { where: ["status = ?"], binds: [filter.status] } : { where: [], binds: [] };
  return fetchPage<TenantRow>(db, SELECT_TENANT, where, page);
}

export function insertTenant(db: D1Database, row: TenantRow): D1PreparedStatement {
  return db
    .prepare("INSERT INTO tenants (id, name, status, created_at, updated_at, quotas) VALUES (?, ?, ?, ?, ?, ?)")
    .bind(row.id, row.name, row.status, row.created_at, row.updated_at, row.quotas);
}

/**
 * Applies the given fields; changes no row when they are what the tenant already has. updated_at
 * moves forward by at least 1 even within one millisecond or under a clock step back, so it
 * versions the status: of two racing status changes, the later write has the higher version.
 */
export function updateTenant(db: D1Database, id: string, change: { name?: string; status?: TenantRow["status"] }, now: number): D1PreparedStatement {
  const name = change.name ?? null;
  const status = change.status ?? null;
  return db
    .prepare(
      `UPDATE tenants SET name = coalesce(?1, name), status = coalesce(?2, status), updated_at = max(updated_at + 1, ?3)
       WHERE id = ?4 AND (name IS NOT coalesce(?1, name) OR status IS NOT coalesce(?2, status))`,
    )
    .bind(name, status, now, id);
}

/**
 * Sets or removes (null) the quotas of the environments given, leaving the others as they are in
 * the row (so two changes of different environments both hold); changes no row when they are what
 * the tenant already has. Moves updated_at forward as updateTenant does: it versions the quotas
 * too (the quota objects and the keys' objects are told which change is newer by it).
 */
export function setTenantQuotas(db: D1Database, id: string, change: Partial<Record<Environment, Quota | null>>, now: number): D1PreparedStatement {
  let quotas = "coalesce(quotas, '{}')";
  const binds: string[] = [];
  for (const [environment, quota] of Object.entries(change)) {
    // The path names an environment from the fixed list, never input.
    if (quota === null) quotas = `json_remove(${quotas}, '$.${environment}')`;
    else {
      binds.push(JSON.stringify(quota));
      quotas = `json_set(${quotas}, '$.${environment}', json(?${binds.length}))`;
    }
  }
  const next = `nullif(${quotas}, '{}')`;
  return db
    .prepare(`UPDATE tenants SET quotas = ${next}, updated_at = max(updated_at + 1, ?${binds.length + 1}) WHERE id = ?${binds.length + 2} AND quotas IS NOT ${next}`)
    .bind(...binds, now, id);
}

/** A tenant status change still being written to its keys' objects (schema.sql: tenant_fanouts). */
export interface FanoutRow {
  tenant_id: string;
  version: number;
  tenant_active: 0 | 1;
  after_key_id: string;
}

export function getFanout(db: D1Database, tenantId: string): Promise<FanoutRow | null> {
  return db.prepare("SELECT tenant_id, version, tenant_active, after_key_id FROM tenant_fanouts WHERE tenant_id = ?").bind(tenantId).first<FanoutRow>();
}

/**
 * Makes sure a fan-out of the tenant's status as it now stands in D1 exists. A pending fan-out of
 * the same status is kept, so a repeated PATCH continues it; one of the other status is replaced
 * by a fresh one from the first key. Taking status and version from the tenants row, in the
 * statement itself, keeps the record in step with the row even when changes race.
 */
export function ensureFanout(db: D1Database, tenantId: string): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO tenant_fanouts (tenant_id, version, tenant_active, after_key_id)
       SELECT id, updated_at, status = 'active', '' FROM tenants WHERE id = ?
       ON CONFLICT (tenant_id) DO UPDATE SET version = excluded.version, tenant_active = excluded.tenant_active, after_key_id = ''
       WHERE excluded.version > tenant_fanouts.version AND excluded.tenant_active != tenant_fanouts.tenant_active`,
    )
    .bind(tenantId);
}

/** Records progress; false if a newer fan-out replaced this one (it then owns the remaining work). */
export async function advanceFanout(db: D1Database, tenantId: string, version: number, afterKeyId: string): Promise<boolean> {
  const result = await db
    .prepare("UPDATE tenant_fanouts SET after_key_id = max(after_key_id, ?) WHERE tenant_id = ? AND version = ?")
    .bind(afterKeyId, tenantId, version)
    .run();
  return result.meta.changes > 0;
}

export async function finishFanout(db: D1Database, tenantId: string, version: number): Promise<void> {
  await db.prepare("DELETE FROM tenant_fanouts WHERE tenant_id = ? AND version = ?").bind(tenantId, version).run();
}

/** A change of a tenant's quota for one environment still being written to its keys' objects (schema.sql: quota_fanouts). */
export interface QuotaFanoutRow {
  tenant_id: string;
  environment: Environment;
  version: number;
  after_key_id: string;
}

export function getQuotaFanout(db: D1Database, tenantId: string, environment: Environment): Promise<QuotaFanoutRow | null> {
  return db
    .prepare("SELECT tenant_id, environment, version, after_key_id FROM quota_fanouts WHERE tenant_id = ? AND environment = ?")
    .bind(tenantId, environment)
    .first<QuotaFanoutRow>();
}

/**
 * Makes sure a fan-out of the environment's quota as the tenants row now has it exists: a pending
 * one of the same version is kept (a repeated PATCH continues it), an older one starts again
 * from the first key with the row's version.
 */
export function ensureQuotaFanout(db: D1Database, tenantId: string, environment: Environment): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO quota_fanouts (tenant_id, environment, version, after_key_id)
       SELECT id, ?, updated_at, '' FROM tenants WHERE id = ?
       ON CONFLICT (tenant_id, environment) DO UPDATE SET version = excluded.version, after_key_id = ''
       WHERE excluded.version > quota_fanouts.version`,
    )
    .bind(environment, tenantId);
}

/** Records progress; false if a newer change replaced this fan-out (it then owns the remaining work). */
export async function advanceQuotaFanout(db: D1Database, fanout: QuotaFanoutRow, afterKeyId: string): Promise<boolean> {
  const result = await db
    .prepare("UPDATE quota_fanouts SET after_key_id = max(after_key_id, ?) WHERE tenant_id = ? AND environment = ? AND version = ?")
    .bind(afterKeyId, fanout.tenant_id, fanout.environment, fanout.version)
    .run();
  return result.meta.changes > 0;
}

export async function finishQuotaFanout(db: D1Database, fanout: QuotaFanoutRow): Promise<void> {
  await db
    .prepare("DELETE FROM quota_fanouts WHERE tenant_id = ? AND environment = ? AND version = ?")
    .bind(fanout.tenant_id, fanout.environment, fanout.version)
    .run();
}
