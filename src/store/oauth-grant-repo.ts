import { quotaRef } from "../authority/key";
import { GRANT_ENVIRONMENT, type Grant, type GrantEndReason, type GrantState, type OAuthClient } from "../authority/oauth";
import type { TenantStatus } from "../authority/tenant";
import { fetchPage, type Filter, type Page, type PageRequest } from "./page";
import { quotasOf } from "./tenant-repo";

/** An `oauth_grants` row joined with its tenant's status, quotas and version, as D1 returns it. */
export interface GrantRow {
  id: string;
  tenant_id: string;
  client_id: string;
  subject: string | null;
  scopes: string;
  rate_limit: number;
  rate_window_seconds: number;
  created_at: number;
  updated_at: number;
  revoked_at: number | null;
  revoked_reason: GrantEndReason | null;
  tenant_status: TenantStatus;
  tenant_version: number;
  tenant_quotas: string | null;
}

/** The grant columns and its tenant's, for queries that join a grant (`g`) to more. */
export const GRANT_COLUMNS = `g.id, g.tenant_id, g.client_id, g.subject, g.scopes, g.rate_limit, g.rate_window_seconds, g.created_at,
  g.updated_at, g.revoked_at, g.revoked_reason, t.status AS tenant_status, t.updated_at AS tenant_version,
  t.quotas AS tenant_quotas`;
const SELECT_GRANT = `SELECT ${GRANT_COLUMNS} FROM oauth_grants g JOIN tenants t ON t.id = g.tenant_id`;

/** The one place a row becomes a Grant. */
export function grantFromRow(row: GrantRow): Grant {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    clientId: row.client_id,
    subject: row.subject,
    scopes: JSON.parse(row.scopes) as string[],
    limit: row.rate_limit,
    windowSeconds: row.rate_window_seconds,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    revokedAt: row.revoked_at,
    revokedReason: row.revoked_reason,
    tenantActive: row.tenant_status === "active",
    tenantVersion: row.tenant_version,
    quota: quotaRef(row.tenant_id, GRANT_ENVIRONMENT, quotasOf({ quotas: row.tenant_quotas }), row.tenant_version),
  };
}

export async function getGrant(db: D1Database, id: string): Promise<Grant | null> {
  const row = await db.prepare(`${SELECT_GRANT} WHERE g.id = ?`).bind(id).first<GrantRow>();
  return row ? grantFromRow(row) : null;
}

/** Which grants: of a tenant, a client or one user (tenant and subject), in a state. */
export interface GrantFilter {
  tenantId?: string;
  clientId?: string;
  subject?: string;
  state?: GrantState;
}

function grantWhere(filter: GrantFilter): Filter {
  const where: Filter = { where: [], binds: [] };
  const add = (clause: string, value: unknown) => {
    where.where.push(clause);
    where.binds.push(value);
  };
  if (filter.tenantId !== undefined) add("g.tenant_id = ?", filter.tenantId);
  if (filter.clientId !== undefined) add("g.client_id = ?", filter.clientId);
  if (filter.subject !== undefined) add("g.subject = ?", filter.subject);
  if (filter.state !== undefined) where.where.push(filter.state === "active" ? "g.revoked_at IS NULL" : "g.revoked_at IS NOT NULL");
  return where;
}

export async function listGrants(db: D1Database, filter: GrantFilter, page: PageRequest): Promise<Page<Grant>> {
  const rows = await fetchPage<GrantRow>(db, SELECT_GRANT, grantWhere(filter), page, "g.");
  return { rows: rows.rows.map(grantFromRow), hasMore: rows.hasMore };
}

/** Up to `limit` grants that match and are not revoked, in id order: the unit of a bulk revocation. */
export async function liveGrants(db: D1Database, filter: Omit<GrantFilter, "state">, limit: number): Promise<Grant[]> {
  const { where, binds } = grantWhere({ ...filter, state: "active" });
  const { results } = await db.prepare(`${SELECT_GRANT} WHERE ${where.join(" AND ")} ORDER BY g.id LIMIT ?`).bind(...binds, limit).all<GrantRow>();
  return results.map(grantFromRow);
}

/** One page, in id order, of a tenant's grants that can still be used, after `afterId` ('' for the first). */
export async function liveGrantsOfTenant(db: D1Database, tenantId: string, afterId: string, limit: number): Promise<Grant[]> {
  const { results } = await db
    .prepare(`${SELECT_GRANT} WHERE g.tenant_id = ? AND g.revoked_at IS NULL AND g.id > ? ORDER BY g.id LIMIT ?`)
    .bind(tenantId, afterId, limit)
    .all<GrantRow>();
  return results.map(grantFromRow);
}

/**
 * Up to `limit` live grants of a client that differ from its settings: a scope it may no longer be
 * granted, another rate limit, or (its own client_credentials grant) other scopes than its own.
 */
export async function grantsOutOfStep(db: D1Database, client: Pick<OAuthClient, "id" | "scopes" | "limit" | "windowSeconds">, limit: number): Promise<Grant[]> {
  const scopes = JSON.stringify(client.scopes);
  const { results } = await db
    .prepare(
      `${SELECT_GRANT} WHERE g.client_id = ?1 AND g.revoked_at IS NULL
         AND (g.rate_limit <> ?2 OR g.rate_window_seconds <> ?3 OR (g.subject IS NULL AND g.scopes <> ?4)
           OR EXISTS (SELECT 1 FROM json_each(g.scopes) s WHERE s.value NOT IN (SELECT value FROM json_each(?4))))
       ORDER BY g.id LIMIT ?5`,
    )
    .bind(client.id, client.limit, client.windowSeconds, scopes, limit)
    .all<GrantRow>();
  return results.map(grantFromRow);
}

/** A confidential client's live grant for its own tenant (client_credentials), if it has one. */
export async function clientOwnGrant(db: D1Database, clientId: string): Promise<Grant | null> {
  const row = await db.prepare(`${SELECT_GRANT} WHERE g.client_id = ? AND g.subject IS NULL AND g.revoked_at IS NULL`).bind(clientId).first<GrantRow>();
  return row ? grantFromRow(row) : null;
}

export type NewGrant = Pick<Grant, "id" | "tenantId" | "clientId" | "subject" | "scopes" | "limit" | "windowSeconds" | "createdAt">;

export function insertGrant(db: D1Database, g: NewGrant): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO oauth_grants (id, tenant_id, client_id, subject, scopes, rate_limit, rate_window_seconds, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .bind(g.id, g.tenantId, g.clientId, g.subject, JSON.stringify(g.scopes), g.limit, g.windowSeconds, g.createdAt, g.createdAt);
}

/** Changes no row if the grant is already revoked: the caller can tell a no-op from `changes`. */
export function markGrantRevoked(db: D1Database, id: string, reason: GrantEndReason, now: number): D1PreparedStatement {
  return db
    .prepare("UPDATE oauth_grants SET revoked_at = ?, revoked_reason = ?, updated_at = ? WHERE id = ? AND revoked_at IS NULL")
    .bind(now, reason, now, id);
}

export function updateGrantPolicy(db: D1Database, id: string, policy: Pick<Grant, "scopes" | "limit" | "windowSeconds">, now: number): D1PreparedStatement {
  return db
    .prepare("UPDATE oauth_grants SET scopes = ?, rate_limit = ?, rate_window_seconds = ?, updated_at = ? WHERE id = ? AND revoked_at IS NULL")
    .bind(JSON.stringify(policy.scopes), policy.limit, policy.windowSeconds, now, id);
}
