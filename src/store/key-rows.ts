import { quotaRef, type Environment, type Key } from "../authority/key";
import { DEFAULT_WINDOW_NAME, type CreditPlan, type RateWindow } from "../authority/plan";
import { statusFromTimes } from "../authority/status";
import type { TenantStatus } from "../authority/tenant";
import { quotasOf } from "./tenant-repo";

/** An `api_keys` row joined with its tenant's status and version, as D1 returns it. */
export interface KeyRow {
  id: string;
  tenant_id: string;
  key_hash: string;
  display: string;
  name: string | null;
  description: string | null;
  environment: Environment;
  scopes: string; // JSON text
  rate_limit: number;
  rate_window_seconds: number;
  rate_limits: string | null; // JSON RateWindow[]; null: the one window above
  credits: string | null; // JSON StoredCredits
  tenant_quotas: string | null; // JSON TenantQuotas
  expires_at: number | null;
  created_at: number;
  updated_at: number;
  revoked_at: number | null;
  deleted_at: number | null;
  rotated_from: string | null;
  rotated_to: string | null;
  tenant_status: TenantStatus;
  tenant_version: number;
}

export const SELECT_KEY = `SELECT k.id, k.tenant_id, k.key_hash, k.display, k.name, k.description, k.environment, k.scopes,
  k.rate_limit, k.rate_window_seconds, k.rate_limits, k.credits, k.expires_at, k.created_at, k.updated_at, k.revoked_at,
  k.deleted_at, k.rotated_from, k.rotated_to, t.status AS tenant_status, t.updated_at AS tenant_version, t.quotas AS tenant_quotas
  FROM api_keys k JOIN tenants t ON t.id = k.tenant_id`;

/** A key's credits as D1 keeps them: the plan, and the credits an admin last set (the key's object counts from there). */
export interface StoredCredits extends CreditPlan {
  remaining: number;
}

/** The windows as stored: a list, or (rows from before several windows) the one window in two columns. */
export function windowsFromRow(row: Pick<KeyRow, "rate_limits" | "rate_limit" | "rate_window_seconds">): RateWindow[] {
  if (row.rate_limits) return JSON.parse(row.rate_limits) as RateWindow[];
  return [{ name: DEFAULT_WINDOW_NAME, limit: row.rate_limit, windowSeconds: row.rate_window_seconds }];
}

/** The one place a row becomes a Key: snake_case stays in SQL. */
export function keyFromRow(row: KeyRow): Key {
  const credits = row.credits ? (JSON.parse(row.credits) as StoredCredits) : null;
  return {
    id: row.id,
    tenantId: row.tenant_id,
    environment: row.environment,
    status: statusFromTimes(row.revoked_at, row.deleted_at),
    tenantActive: row.tenant_status === "active",
    tenantVersion: row.tenant_version,
    expiresAt: row.expires_at,
    scopes: JSON.parse(row.scopes) as string[],
    windows: windowsFromRow(row),
    credits: credits ? { refill: credits.refill ?? null } : null,
    creditsSet: credits ? credits.remaining : null,
    quota: quotaRef(row.tenant_id, row.environment, quotasOf({ quotas: row.tenant_quotas }), row.tenant_version),
    hash: row.key_hash,
    display: row.display,
    name: row.name,
    description: row.description,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    revokedAt: row.revoked_at,
    deletedAt: row.deleted_at,
    rotatedFrom: row.rotated_from,
    rotatedTo: row.rotated_to,
  };
}
