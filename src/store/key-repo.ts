import type { Environment, Key } from "../authority/key";
import type { CreditPlan, RateWindow } from "../authority/plan";
import type { KeyState } from "../authority/status";
import { keyFromRow, SELECT_KEY, type KeyRow } from "./key-rows";
import { fetchPage, type Filter, type Page, type PageRequest } from "./page";

export async function getKey(db: D1Database, id: string): Promise<Key | null> {
  const row = await db.prepare(`${SELECT_KEY} WHERE k.id = ?`).bind(id).first<KeyRow>();
  return row ? keyFromRow(row) : null;
}

export async function getKeyByHash(db: D1Database, hash: string): Promise<Key | null> {
  const row = await db.prepare(`${SELECT_KEY} WHERE k.key_hash = ?`).bind(hash).first<KeyRow>();
  return row ? keyFromRow(row) : null;
}

/**
 * One page, in id order, of a tenant's keys that can still be used, after `afterId` ('' for the
 * first), of one environment if given: the unit in which a tenant status or quota change is
 * fanned out to the keys' objects.
 */
export async function liveKeysOfTenant(db: D1Database, tenantId: string, afterId: string, limit: number, environment?: Environment): Promise<Key[]> {
  const ofEnvironment = environment === undefined ? "" : " AND k.environment = ?";
  const { results } = await db
    .prepare(`${SELECT_KEY} WHERE k.tenant_id = ?${ofEnvironment} AND k.deleted_at IS NULL AND k.revoked_at IS NULL AND k.id > ? ORDER BY k.id LIMIT ?`)
    .bind(tenantId, ...(environment === undefined ? [] : [environment]), afterId, limit)
    .all<KeyRow>();
  return results.map(keyFromRow);
}

/** What a new row is made of; the rest of a Key (status, times, links) starts empty. */
export type NewKey = Pick<
  Key,
  "id" | "tenantId" | "hash" | "display" | "name" | "description" | "environment" | "scopes" | "windows" | "credits" | "creditsSet" | "expiresAt" | "createdAt" | "rotatedFrom"
>;

/**
 * The windows' columns: the list, and its first window in the two columns releases before several
 * windows read (so one still serving during a rollout keeps a limit).
 */
function windowColumns(windows: readonly RateWindow[]): [string, number, number] {
  return [JSON.stringify(windows), windows[0]!.limit, windows[0]!.windowSeconds];
}

function creditsColumn(credits: CreditPlan | null, remaining: number | null): string | null {
  return credits ? JSON.stringify({ remaining: remaining ?? 0, refill: credits.refill }) : null;
}

export function insertKey(db: D1Database, k: NewKey): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO api_keys (id, tenant_id, key_hash, display, name, description, environment, scopes, rate_limits, rate_limit,
        rate_window_seconds, credits, expires_at, created_at, updated_at, rotated_from)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .bind(
      k.id,
      k.tenantId,
      k.hash,
      k.display,
      k.name,
      k.description,
      k.environment,
      JSON.stringify(k.scopes),
      ...windowColumns(k.windows),
      creditsColumn(k.credits, k.creditsSet),
      k.expiresAt,
      k.createdAt,
      k.createdAt,
      k.rotatedFrom,
    );
}

/** Changes no row if the key is already revoked: the caller can tell a no-op from `changes`. */
export function markRevoked(db: D1Database, id: string, now: number): D1PreparedStatement {
  return db.prepare("UPDATE api_keys SET revoked_at = ?, updated_at = ? WHERE id = ? AND revoked_at IS NULL").bind(now, now, id);
}

export function markDeleted(db: D1Database, id: string, now: number): D1PreparedStatement {
  return db.prepare("UPDATE api_keys SET deleted_at = ?, updated_at = ? WHERE id = ? AND deleted_at IS NULL").bind(now, now, id);
}

export interface KeyListFilter {
  tenantId?: string;
  environment?: Environment;
  /** Without a status, every key that is not deleted. */
  status?: KeyState;
}

/**
 * authority/status.ts keyState in SQL, so a filter and the status a key shows agree (a test lists
 * keys in every state under every filter).
 */
function statusFilter(status: KeyState | undefined, now: number): Filter {
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

export async function listKeys(db: D1Database, filter: KeyListFilter, page: PageRequest, now: number): Promise<Page<Key>> {
  const { where, binds } = statusFilter(filter.status, now);
  if (filter.tenantId !== undefined) {
    where.push("k.tenant_id = ?");
    binds.push(filter.tenantId);
  }
  if (filter.environment !== undefined) {
    where.push("k.environment = ?");
    binds.push(filter.environment);
  }
  const stored = await fetchPage<KeyRow>(db, SELECT_KEY, { where, binds }, page, "k.");
  return { ...stored, rows: stored.rows.map(keyFromRow) };
}

/** What PATCH may change; only the fields given are written (credits with the credits set). */
export type KeyChange = Partial<Pick<Key, "name" | "description" | "scopes" | "expiresAt" | "windows" | "credits" | "creditsSet">>;

/**
 * Writes exactly the given columns, so two PATCHes of different fields do not undo each other.
 * Revoked and deleted rows are left alone (no row changes) even if a revoke raced the PATCH. The
 * columns come from this fixed list, so no input ever names one.
 */
export function updateKey(db: D1Database, id: string, change: KeyChange, now: number): D1PreparedStatement {
  const set: [string, unknown][] = [];
  if (change.name !== undefined) set.push(["name", change.name]);
  if (change.description !== undefined) set.push(["description", change.description]);
  if (change.scopes !== undefined) set.push(["scopes", JSON.stringify(change.scopes)]);
  if (change.expiresAt !== undefined) set.push(["expires_at", change.expiresAt]);
  if (change.windows !== undefined) {
    const [list, limit, windowSeconds] = windowColumns(change.windows);
    set.push(["rate_limits", list], ["rate_limit", limit], ["rate_window_seconds", windowSeconds]);
  }
  if (change.credits !== undefined) set.push(["credits", creditsColumn(change.credits, change.creditsSet ?? null)]);
  set.push(["updated_at", now]);
  return db
    .prepare(`UPDATE api_keys SET ${set.map(([column]) => `${column} = ?`).join(", ")} WHERE id = ? AND revoked_at IS NULL AND deleted_at IS NULL`)
    .bind(...set.map(([, value]) => value), id);
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
