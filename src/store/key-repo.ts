import { KEY_ROW_COLUMNS, parseKeyRow, type KeyRow, type ParsedKeyRow } from "./key-rows";
import { fetchPage, type Filter, type Page, type PageRequest } from "./page";

/**
 * An api_keys row as the admin API needs it: with the hash, to clear the caches by, and the
 * version of its tenant's status (tenants.updated_at), which orders writes of that status to the
 * key's Durable Object.
 */
export type AdminKeyRow = ParsedKeyRow<KeyRow & { key_hash: string; tenant_version: number }>;
type StoredAdminKeyRow = KeyRow & { key_hash: string; tenant_version: number };

const SELECT_ADMIN_ROW = `SELECT ${KEY_ROW_COLUMNS}, k.key_hash, t.updated_at AS tenant_version FROM api_keys k JOIN tenants t ON t.id = k.tenant_id`;

export async function getKey(db: D1Database, id: string): Promise<AdminKeyRow | null> {
  const row = await db.prepare(`${SELECT_ADMIN_ROW} WHERE k.id = ?`).bind(id).first<StoredAdminKeyRow>();
  return row ? parseKeyRow(row) : null;
}

/**
 * One page, in id order, of a tenant's keys that can still be used, after `afterId` ('' for the
 * first): the unit in which a tenant status change is fanned out to the keys' objects.
 */
export async function liveKeysOfTenant(db: D1Database, tenantId: string, afterId: string, limit: number): Promise<AdminKeyRow[]> {
  const { results } = await db
    .prepare(`${SELECT_ADMIN_ROW} WHERE k.tenant_id = ? AND k.deleted_at IS NULL AND k.revoked_at IS NULL AND k.id > ? ORDER BY k.id LIMIT ?`)
    .bind(tenantId, afterId, limit)
    .all<StoredAdminKeyRow>();
  return results.map(parseKeyRow);
}

export interface NewKey {
  id: string;
  tenant_id: string;
  key_hash: string;
  display: string;
  name: string | null;
  description: string | null;
  environment: "live" | "test";
  scopes: string[];
  rate_limit: number;
  rate_window_seconds: number;
  expires_at: number | null;
  created_at: number;
  rotated_from: string | null;
}

export function insertKey(db: D1Database, k: NewKey): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO api_keys (id, tenant_id, key_hash, display, name, description, environment, scopes, rate_limit,
        rate_window_seconds, expires_at, created_at, updated_at, rotated_from)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .bind(
      k.id,
      k.tenant_id,
      k.key_hash,
      k.display,
      k.name,
      k.description,
      k.environment,
      JSON.stringify(k.scopes),
      k.rate_limit,
      k.rate_window_seconds,
      k.expires_at,
      k.created_at,
      k.created_at,
      k.rotated_from,
    );
}

/** Changes no row if the key is already revoked: the caller can tell a no-op from `changes`. */
export function markRevoked(db: D1Database, id: string, now: number): D1PreparedStatement {
  return db.prepare("UPDATE api_keys SET revoked_at = ?, updated_at = ? WHERE id = ? AND revoked_at IS NULL").bind(now, now, id);
}

export function markDeleted(db: D1Database, id: string, now: number): D1PreparedStatement {
  return db.prepare("UPDATE api_keys SET deleted_at = ?, updated_at = ? WHERE id = ? AND deleted_at IS NULL").bind(now, now, id);
}

export type KeyListStatus = "active" | "expired" | "revoked" | "deleted";

export interface KeyListFilter {
  tenantId?: string;
  environment?: "live" | "test";
  /** Without a status, every key that is not deleted. */
  status?: KeyListStatus;
}

/** The SQL twin of the API's key status (views.ts keyStatus), so filters and views agree. */
function statusFilter(status: KeyListStatus | undefined, now: number): Filter {
  switch (status) {
    case undefined:
      return { where: ["k.deleted_at IS NULL"], binds: [] };
    case "deleted":
      return { where: ["k.deleted_at IS NOT NULL"], binds: [] };
    case "revoked":
      return { where: ["k.deleted_at IS NULL", "k.revoked_at IS NOT NULL"], binds: [] };
    case "expired":
      return { where: ["k.deleted_at IS NULL", "k.revoked_at IS NULL", "k.expires_at IS NOT NULL", "k.expires_at <= ?"], binds: [now] };
    case "active":
      return { where: ["k.deleted_at IS NULL", "k.revoked_at IS NULL", "(k.expires_at IS NULL OR k.expires_at > ?)"], binds: [now] };
  }
}

export async function listKeys(db: D1Database, filter: KeyListFilter, page: PageRequest, now = Date.now()): Promise<Page<AdminKeyRow>> {
  const { where, binds } = statusFilter(filter.status, now);
  if (filter.tenantId !== undefined) {
    where.push("k.tenant_id = ?");
    binds.push(filter.tenantId);
  }
  if (filter.environment !== undefined) {
    where.push("k.environment = ?");
    binds.push(filter.environment);
  }
  const stored = await fetchPage<StoredAdminKeyRow>(db, SELECT_ADMIN_ROW, { where, binds }, page, "k.");
  return { ...stored, rows: stored.rows.map(parseKeyRow) };
}

/** What PATCH may change; only the fields given are written. */
export interface KeyChange {
  name?: string | null;
  description?: string | null;
  scopes?: string[];
  expires_at?: number | null;
  rate_limit?: number;
  rate_window_seconds?: number;
}

/** The columns PATCH may write: a fixed list, so no input key ever names a column. */
const CHANGEABLE_COLUMNS = ["name", "description", "scopes", "expires_at", "rate_limit", "rate_window_seconds"] as const;

/**
 * Writes exactly the given columns, so two PATCHes of different fields do not undo each other.
 * Revoked and deleted rows are left alone (no row changes) even if a revoke raced the PATCH.
 */
export function updateKey(db: D1Database, id: string, change: KeyChange, now: number): D1PreparedStatement {
  const columns = CHANGEABLE_COLUMNS.filter((column) => change[column] !== undefined);
  const values = columns.map((column) => (column === "scopes" ? JSON.stringify(change.scopes) : change[column]));
  return db
    .prepare(
      `UPDATE api_keys SET ${[...columns.map((column) => `${column} = ?`), "updated_at = ?"].join(", ")}
       WHERE id = ? AND revoked_at IS NULL AND deleted_at IS NULL`,
    )
    .bind(...values, now, id);
}

/**
 * Links the old key to its successor and shortens its life to the grace period (never lengthens
 * it, also if a PATCH moved it meanwhile). The key's object already granted this one rotation;
 * the row is linked even if a concurrent revoke landed in between, which reads as rotated, then
 * revoked.
 */
export function markRotated(db: D1Database, id: string, rotatedTo: string, expiresAt: number, now: number): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE api_keys SET rotated_to = ?, expires_at = min(coalesce(expires_at, ?), ?), updated_at = ?
       WHERE id = ? AND rotated_to IS NULL`,
    )
    .bind(rotatedTo, expiresAt, expiresAt, now, id);
}
