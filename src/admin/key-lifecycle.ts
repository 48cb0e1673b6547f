import type { Config } from "../config";
import { ApiError } from "../http/errors";
import { displayForm, generateKey, type Environment } from "../keys/format";
import { hashKey } from "../keys/hash";
import { prefixedId } from "../keys/random";
import { writeKeyPolicy } from "../ratelimit/guard-client";
import { insertAuditEvent, type AuditEvent } from "../store/audit-repo";
import { cacheKey, forgetKey } from "../store/key-store";
import { getKey, insertKey, markDeleted, markRevoked, type AdminKeyRow, type NewKey } from "../store/key-repo";
import { policyFromRow, recordFromRow } from "../store/key-rows";
import type { KeyPolicy } from "../store/records";
import { getTenant } from "../store/tenant-repo";

/** Who did it and under which request, for the audit trail. */
export interface Actor {
  type: string;
  id: string;
  requestId: string;
}

export interface KeySettings {
  tenant_id: string;
  name?: string | null;
  description?: string | null;
  environment: Environment;
  scopes?: string[];
  expires_at?: number | null;
  rate_limit?: { limit: number; window_seconds: number };
}

const DEFAULT_SCOPES = ["read", "write"];

function audit(actor: Actor, action: string, row: { id: string; tenant_id: string }, details?: Record<string, unknown>): AuditEvent {
  return {
    actorType: actor.type,
    actorId: actor.id,
    action,
    resourceType: "api_key",
    resourceId: row.id,
    tenantId: row.tenant_id,
    requestId: actor.requestId,
    details,
  };
}

export async function loadKey(env: Env, id: string): Promise<AdminKeyRow> {
  const row = await getKey(env.DB, id);
  if (!row) throw new ApiError("not_found", "No such key.");
  return row;
}

/**
 * Issues a key. Its Durable Object is written first, so the key exists nowhere that could serve it
 * before its authoritative state does; then D1 (with the audit event, one transaction); then KV.
 * The plaintext is returned once and never stored.
 */
export async function createKey(env: Env, config: Config, actor: Actor, settings: KeySettings, rotatedFrom: string | null = null) {
  const tenant = await getTenant(env.DB, settings.tenant_id);
  if (!tenant) throw new ApiError("not_found", "No such tenant.", { field: "tenant_id" });

  const plaintext = generateKey(config.keyPrefix, settings.environment);
  const now = Date.now();
  const row: NewKey = {
    id: prefixedId("key"),
    tenant_id: tenant.id,
    key_hash: await hashKey(plaintext),
    display: displayForm(plaintext, config.keyPrefix),
    name: settings.name ?? null,
    description: settings.description ?? null,
    environment: settings.environment,
    scopes: settings.scopes ?? DEFAULT_SCOPES,
    rate_limit: settings.rate_limit?.limit ?? config.defaultRateLimit.limit,
    rate_window_seconds: settings.rate_limit?.window_seconds ?? config.defaultRateLimit.windowSeconds,
    expires_at: settings.expires_at ?? null,
    created_at: now,
    rotated_from: rotatedFrom,
  };
  const policy: KeyPolicy = {
    status: "active",
    tenantActive: tenant.status === "active",
    expiresAt: row.expires_at,
    scopes: row.scopes,
    limit: row.rate_limit,
    windowSeconds: row.rate_window_seconds,
  };
  await writeKeyPolicy(env, row.id, policy, policy);
  await env.DB.batch([
    insertKey(env.DB, row),
    insertAuditEvent(env.DB, audit(actor, rotatedFrom ? "key.rotated" : "key.created", row, rotatedFrom ? { rotated_from: rotatedFrom } : undefined), now),
  ]);
  const created = await loadKey(env, row.id);
  await cacheKey(env, row.key_hash, recordFromRow(created));
  return { row: created, plaintext };
}

/** Revoking is final and immediate: the key's object refuses it before this returns. */
export async function revokeKey(env: Env, actor: Actor, row: AdminKeyRow): Promise<AdminKeyRow> {
  if (row.deleted_at !== null) throw new ApiError("conflict", "The key is deleted.");
  if (row.revoked_at !== null) return row;
  const now = Date.now();
  await writeKeyPolicy(env, row.id, { status: "revoked" }, policyFromRow(row));
  await env.DB.batch([markRevoked(env.DB, row.id, now), insertAuditEvent(env.DB, audit(actor, "key.revoked", row), now)]);
  await forgetKey(env, row.key_hash);
  return loadKey(env, row.id);
}

/** Deleting is final and immediate; the row stays (as deleted) for the audit trail. */
export async function deleteKey(env: Env, actor: Actor, row: AdminKeyRow): Promise<void> {
  if (row.deleted_at !== null) return;
  const now = Date.now();
  await writeKeyPolicy(env, row.id, { status: "deleted" }, policyFromRow(row));
  await env.DB.batch([markDeleted(env.DB, row.id, now), insertAuditEvent(env.DB, audit(actor, "key.deleted", row), now)]);
  await forgetKey(env, row.key_hash);
}
