import type { KeyUsage } from "../ratelimit/key-guard";
import type { AdminRow } from "../store/admin-repo";
import type { AuditRow } from "../store/audit-repo";
import { rowStatus, type ParsedKeyRow } from "../store/key-rows";
import type { TenantRow } from "../store/tenant-repo";
import { iso } from "./time";

/** How resources look on the wire: prefixed ids, ISO times, never a key's hash or plaintext, never a password's verifier. */
export function tenantView(row: TenantRow) {
  return {
    id: row.id,
    object: "tenant" as const,
    name: row.name,
    status: row.status,
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
  };
}

export function keyStatus(row: Pick<ParsedKeyRow, "revoked_at" | "deleted_at" | "expires_at">, now = Date.now()): "active" | "expired" | "revoked" | "deleted" {
  const status = rowStatus(row);
  if (status !== "active") return status;
  return row.expires_at !== null && row.expires_at <= now ? "expired" : "active";
}

export function keyView(row: ParsedKeyRow) {
  return {
    id: row.id,
    object: "api_key" as const,
    tenant_id: row.tenant_id,
    name: row.name,
    description: row.description,
    environment: row.environment,
    display: row.display,
    scopes: row.scopes,
    status: keyStatus(row),
    expires_at: iso(row.expires_at),
    rate_limit: { limit: row.rate_limit, window_seconds: row.rate_window_seconds },
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
    revoked_at: iso(row.revoked_at),
    rotated_from: row.rotated_from,
    rotated_to: row.rotated_to,
  };
}

export function adminView(row: AdminRow) {
  return {
    id: row.id,
    object: "admin" as const,
    email: row.email,
    role: row.role,
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
    last_signin_at: iso(row.last_signin_at),
  };
}

export function auditView(row: AuditRow) {
  return {
    id: row.id,
    object: "audit_event" as const,
    action: row.action,
    actor: { type: row.actor_type, id: row.actor_id },
    resource: { type: row.resource_type, id: row.resource_id },
    tenant_id: row.tenant_id,
    request_id: row.request_id,
    details: row.details === null ? null : (JSON.parse(row.details) as Record<string, unknown>),
    created_at: iso(row.created_at),
  };
}

export function usageView(keyId: string, usage: KeyUsage) {
  return {
    object: "key_usage" as const,
    key_id: keyId,
    requests: usage.requests,
    rate_limited: usage.rateLimited,
    last_used_at: iso(usage.lastUsedAt),
  };
}
