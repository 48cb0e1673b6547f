import type { ClientType, GrantType, OAuthClient } from "../authority/oauth";
import { fetchPage, type Filter, type Page, type PageRequest } from "./page";

/** An `oauth_clients` row as D1 returns it. */
interface ClientRow {
  id: string;
  tenant_id: string | null;
  name: string;
  type: ClientType;
  redirect_uris: string;
  scopes: string;
  grant_types: string;
  rate_limit: number;
  rate_window_seconds: number;
  secret_hash: string | null;
  created_at: number;
  updated_at: number;
  deleted_at: number | null;
}

const SELECT_CLIENT = `SELECT id, tenant_id, name, type, redirect_uris, scopes, grant_types, rate_limit, rate_window_seconds, secret_hash,
  created_at, updated_at, deleted_at FROM oauth_clients`;

function clientFromRow(row: ClientRow): OAuthClient {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    name: row.name,
    type: row.type,
    redirectUris: JSON.parse(row.redirect_uris) as string[],
    scopes: JSON.parse(row.scopes) as string[],
    grantTypes: JSON.parse(row.grant_types) as GrantType[],
    limit: row.rate_limit,
    windowSeconds: row.rate_window_seconds,
    secretHash: row.secret_hash,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    deletedAt: row.deleted_at,
  };
}

/** A client, deleted or not (the caller decides what a deleted one means). */
export async function getClient(db: D1Database, id: string): Promise<OAuthClient | null> {
  const row = await db.prepare(`${SELECT_CLIENT} WHERE id = ?`).bind(id).first<ClientRow>();
  return row ? clientFromRow(row) : null;
}

/** A client that is not deleted; null for a deleted one as for one that never was. */
export async function getLiveClient(db: D1Database, id: string): Promise<OAuthClient | null> {
  const client = await getClient(db, id);
  return client && client.deletedAt === null ? client : null;
}

/** Clients that are not deleted, newest first. */
export async function listClients(db: D1Database, filter: { tenantId?: string }, page: PageRequest): Promise<Page<OAuthClient>> {
  const where: Filter = { where: ["deleted_at IS NULL"], binds: [] };
  if (filter.tenantId !== undefined) {
    where.where.push("tenant_id = ?");
    where.binds.push(filter.tenantId);
  }
  const rows = await fetchPage<ClientRow>(db, SELECT_CLIENT, where, page);
  return { rows: rows.rows.map(clientFromRow), hasMore: rows.hasMore };
}

export type NewClient = Omit<OAuthClient, "updatedAt" | "deletedAt">;

export function insertClient(db: D1Database, c: NewClient): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO oauth_clients (id, tenant_id, name, type, redirect_uris, scopes, grant_types, rate_limit, rate_window_seconds, secret_hash, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .bind(
      c.id,
      c.tenantId,
      c.name,
      c.type,
      JSON.stringify(c.redirectUris),
      JSON.stringify(c.scopes),
      JSON.stringify(c.grantTypes),
      c.limit,
      c.windowSeconds,
      c.secretHash,
      c.createdAt,
      c.createdAt,
    );
}

export interface ClientChange {
  name?: string;
  redirectUris?: string[];
  scopes?: string[];
  limit?: number;
  windowSeconds?: number;
  secretHash?: string;
}

/** Applies the fields given to a client that is not deleted; changes no row otherwise. */
export function updateClient(db: D1Database, id: string, change: ClientChange, now: number): D1PreparedStatement {
  const json = (value: string[] | undefined) => (value === undefined ? null : JSON.stringify(value));
  return db
    .prepare(
      `UPDATE oauth_clients SET name = coalesce(?, name), redirect_uris = coalesce(?, redirect_uris), scopes = coalesce(?, scopes),
         rate_limit = coalesce(?, rate_limit), rate_window_seconds = coalesce(?, rate_window_seconds), secret_hash = coalesce(?, secret_hash),
         updated_at = ? WHERE id = ? AND deleted_at IS NULL`,
    )
    .bind(change.name ?? null, json(change.redirectUris), json(change.scopes), change.limit ?? null, change.windowSeconds ?? null, change.secretHash ?? null, now, id);
}

/** Changes no row if the client is already deleted. */
export function markClientDeleted(db: D1Database, id: string, now: number): D1PreparedStatement {
  return db.prepare("UPDATE oauth_clients SET deleted_at = ?, updated_at = ? WHERE id = ? AND deleted_at IS NULL").bind(now, now, id);
}
