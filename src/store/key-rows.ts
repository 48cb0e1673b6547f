import type { Environment } from "../keys/format";
import type { KeyPolicy, KeyRecord, KeyStatus } from "./records";

/** An `api_keys` row joined with its tenant's status, as D1 returns it (scopes as JSON text). */
export interface KeyRow {
  id: string;
  tenant_id: string;
  display: string;
  name: string | null;
  description: string | null;
  environment: Environment;
  scopes: string;
  rate_limit: number;
  rate_window_seconds: number;
  expires_at: number | null;
  created_at: number;
  updated_at: number;
  revoked_at: number | null;
  deleted_at: number | null;
  rotated_from: string | null;
  rotated_to: string | null;
  tenant_status: "active" | "suspended";
}

/** The same row with its scopes decoded: what everything past the SQL works with. */
export type ParsedKeyRow<Row extends KeyRow = KeyRow> = Omit<Row, "scopes"> & { scopes: string[] };

export const KEY_ROW_COLUMNS = `k.id, k.tenant_id, k.display, k.name, k.description, k.environment, k.scopes,
  k.rate_limit, k.rate_window_seconds, k.expires_at, k.created_at, k.updated_at, k.revoked_at,
  k.deleted_at, k.rotated_from, k.rotated_to, t.status AS tenant_status`;

/** The one place a row's scopes are decoded. */
export function parseKeyRow<Row extends KeyRow>(row: Row): ParsedKeyRow<Row> {
  return { ...row, scopes: JSON.parse(row.scopes) as string[] };
}

export function rowStatus(row: Pick<KeyRow, "revoked_at" | "deleted_at">): KeyStatus {
  if (row.deleted_at !== null) return "deleted";
  if (row.revoked_at !== null) return "revoked";
  return "active";
}

export function policyFromRow(row: ParsedKeyRow): KeyPolicy {
  return {
    status: rowStatus(row),
    tenantActive: row.tenant_status === "active",
    expiresAt: row.expires_at,
    scopes: row.scopes,
    limit: row.rate_limit,
    windowSeconds: row.rate_window_seconds,
  };
}

/** The gateway's cached form of a key. */
export function recordOf(row: ParsedKeyRow): KeyRecord {
  return { id: row.id, tenantId: row.tenant_id, environment: row.environment, ...policyFromRow(row) };
}

/** The same, for a row straight from D1. */
export function recordFromRow(row: KeyRow): KeyRecord {
  return recordOf(parseKeyRow(row));
}
