import { KEY_ROW_COLUMNS, type KeyRow } from "./key-rows";

/** An api_keys row as the admin API needs it: with the hash, to clear the caches by. */
export interface AdminKeyRow extends KeyRow {
  key_hash: string;
}

const SELECT_ADMIN_ROW = `SELECT ${KEY_ROW_COLUMNS}, k.key_hash FROM api_keys k JOIN tenants t ON t.id = k.tenant_id`;

export function getKey(db: D1Database, id: string): Promise<AdminKeyRow | null> {
  return db.prepare(`${SELECT_ADMIN_ROW} WHERE k.id = ?`).bind(id).first<AdminKeyRow>();
}

/** Every key of a tenant that can still be used, for fanning a status change out to their objects. */
export async function liveKeysOfTenant(db: D1Database, tenantId: string): Promise<AdminKeyRow[]> {
  const { results } = await db.prepare(`${SELECT_ADMIN_ROW} WHERE k.tenant_id = ? AND k.deleted_at IS NULL AND k.revoked_at IS NULL`).bind(tenantId).all<AdminKeyRow>();
  return results;
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

export function markRevoked(db: D1Database, id: string, now: number): D1PreparedStatement {
  return db.prepare("UPDATE api_keys SET revoked_at = ?, updated_at = ? WHERE id = ? AND revoked_at IS NULL").bind(now, now, id);
}

export function markDeleted(db: D1Database, id: string, now: number): D1PreparedStatement {
  return db.prepare("UPDATE api_keys SET deleted_at = ?, updated_at = ? WHERE id = ? AND deleted_at IS NULL").bind(now, now, id);
}
