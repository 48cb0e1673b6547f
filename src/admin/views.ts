import type { Environment, Key } from "../authority/key";
import { grantState, type Grant, type OAuthClient } from "../authority/oauth";
import { keyState } from "../authority/status";
import { nextRefill } from "../counting/credits";
import type { QuotaStanding } from "../guards/quota-guard";
import type { AttemptEventRow } from "../usage/attempt-log";
import type { UsagePoint, UsageRange } from "../usage/buckets";
import type { KeyEventRow } from "../usage/key-usage";
import type { AdminRow } from "../store/admin-repo";
import type { AuditRow } from "../store/audit-repo";
import { quotasOf, type TenantRow } from "../store/tenant-repo";
import { quotaToWire, refillToWire, windowsToWire } from "./plans";
import { iso } from "./time";

/** Where each of a tenant's quotas stands (GET of one tenant); lists show the plan only. */
export type QuotaStandings = Partial<Record<Environment, QuotaStanding | null>>;

/** How resources look on the wire: prefixed ids, ISO times, never a key's hash or plaintext, never a password's verifier. */
export function tenantView(row: TenantRow, standings?: QuotaStandings) {
  return {
    id: row.id,
    object: "tenant" as const,
    name: row.name,
    status: row.status,
    quotas: { live: quotaView(row, "live", standings), test: quotaView(row, "test", standings) },
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
  };
}

function quotaView(row: TenantRow, environment: Environment, standings: QuotaStandings | undefined) {
  const quota = quotasOf(row)[environment];
  if (!quota) return null;
  const standing = standings?.[environment] ?? null;
  return {
    ...quotaToWire(quota),
    used: standing ? standing.used : null,
    remaining: standing ? standing.remaining : null,
    resets_at: standing ? iso(standing.period.end) : null,
  };
}

/**
 * `lastUsedAt`: the key's last admission as forwarded to D1 (see lastUsedOf); null for a new key.
 * `creditsRemaining`: what its object counts now (GET of one key), or what was just set (a new
 * key); null where only the plan is shown (lists).
 */
export function keyView(key: Key, now: number, lastUsedAt: number | null, creditsRemaining: number | null = null) {
  return {
    id: key.id,
    object: "api_key" as const,
    tenant_id: key.tenantId,
    name: key.name,
    description: key.description,
    environment: key.environment,
    display: key.display,
    scopes: key.scopes,
    status: keyState(key, now),
    expires_at: iso(key.expiresAt),
    rate_limit: { limit: key.windows[0]!.limit, window_seconds: key.windows[0]!.windowSeconds },
    rate_limits: windowsToWire(key.windows),
    credits: key.credits
      ? { remaining: creditsRemaining, refill: refillToWire(key.credits.refill), refills_at: iso(nextRefill(key.credits, now)) }
      : null,
    created_at: iso(key.createdAt),
    updated_at: iso(key.updatedAt),
    revoked_at: iso(key.revokedAt),
    rotated_from: key.rotatedFrom,
    rotated_to: key.rotatedTo,
    last_used_at: iso(lastUsedAt),
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

export function seriesView(range: UsageRange, series: ({ start: number } & UsagePoint)[], totals: UsagePoint) {
  return {
    granularity: range.granularity,
    from: iso(range.from),
    to: iso(range.to),
    series: series.map(({ start, ...point }) => ({ start: iso(start), ...point })),
    totals,
  };
}

export function keyEventView(row: KeyEventRow & { id: string }) {
  return {
    object: "key_event" as const,
    id: row.id,
    at: iso(row.at),
    code: row.code,
    status: row.status,
    method: row.method,
    path: row.path,
    ip: row.ip,
    country: row.country,
    user_agent: row.user_agent,
    request_id: row.request_id,
    carrier: row.carrier as "x-api-key" | "bearer" | "basic" | "verify" | null,
  };
}

export function failedAttemptView(row: AttemptEventRow) {
  return { at: iso(row.at), code: row.code, path: row.path, key: row.display };
}

/** An OAuth client: never its secret (shown once, by the call that makes it) or the secret's hash. */
export function oauthClientView(client: OAuthClient) {
  return {
    id: client.id,
    object: "oauth_client" as const,
    client_id: client.id,
    tenant_id: client.tenantId,
    name: client.name,
    type: client.type,
    redirect_uris: client.redirectUris,
    scopes: client.scopes,
    grant_types: client.grantTypes,
    rate_limit: { limit: client.limit, window_seconds: client.windowSeconds },
    created_at: iso(client.createdAt),
    updated_at: iso(client.updatedAt),
  };
}

export function grantView(grant: Grant, lastUsedAt: number | null) {
  return {
    id: grant.id,
    object: "oauth_grant" as const,
    tenant_id: grant.tenantId,
    client_id: grant.clientId,
    subject: grant.subject,
    scopes: grant.scopes,
    status: grantState(grant),
    revoked_reason: grant.revokedReason,
    rate_limit: { limit: grant.limit, window_seconds: grant.windowSeconds },
    created_at: iso(grant.createdAt),
    updated_at: iso(grant.updatedAt),
    revoked_at: iso(grant.revokedAt),
    last_used_at: iso(lastUsedAt),
  };
}
