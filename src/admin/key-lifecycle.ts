import type { Config } from "../config";
import { ApiError } from "../http/errors";
import { displayForm, generateKey } from "../keys/format";
import { hashKey } from "../keys/hash";
import { prefixedId } from "../keys/random";
import { keyGuard, writeKeyPolicy } from "../ratelimit/guard-client";
import { cacheKey, forgetKey } from "../store/key-store";
import {
  getKey,
  insertKey,
  markDeleted,
  markRevoked,
  markRotated,
  updateKey as updateKeyRow,
  type AdminKeyRow,
  type KeyChange,
  type NewKey,
} from "../store/key-repo";
import { policyFromRow, recordOf } from "../store/key-rows";
import type { KeyPolicy } from "../store/records";
import { getTenant } from "../store/tenant-repo";
import { auditStatement, keyResource, type Actor } from "./audit-trail";
import type { KeySettings, KeyStrength } from "./key-bounds";
import type { KeyUpdateInput } from "./schemas";
import { iso } from "./time";

/**
 * Every change to a key follows one order: the key's Durable Object first (it alone decides
 * requests, so a change is in force once it is written there), then D1 with the audit event in
 * the same batch, then the KV and isolate caches.
 */

/** A tenant's status as read from D1, with its version (tenants.updated_at) to order writes by. */
interface TenantStatus {
  active: boolean;
  version: number;
}

export async function loadKey(env: Env, id: string): Promise<AdminKeyRow> {
  const row = await getKey(env.DB, id);
  if (!row) throw new ApiError("not_found", "No such key.");
  return row;
}

/** Revoked and deleted keys are final: they can be neither changed nor rotated. */
function assertChangeable(row: AdminKeyRow): void {
  if (row.deleted_at !== null) throw new ApiError("conflict", "The key is deleted.");
  if (row.revoked_at !== null) throw new ApiError("conflict", "The key is revoked.");
}

/** What decides a key's strength, as a tenant's key would have to ask for it. */
export function strengthOf(row: AdminKeyRow): KeyStrength {
  return {
    environment: row.environment,
    scopes: row.scopes,
    expires_at: row.expires_at,
    rate_limit: { limit: row.rate_limit, window_seconds: row.rate_window_seconds },
  };
}

/**
 * Makes a key and writes its Durable Object, so the key exists nowhere that could serve it before
 * its authoritative state does. The caller inserts the row.
 */
async function issue(env: Env, config: Config, id: string, tenant: TenantStatus, settings: KeySettings, rotatedFrom: string | null, now: number) {
  const plaintext = generateKey(config.keyPrefix, settings.environment);
  const row: NewKey = {
    id,
    tenant_id: settings.tenant_id,
    key_hash: await hashKey(plaintext),
    display: displayForm(plaintext, config.keyPrefix),
    name: settings.name ?? null,
    description: settings.description ?? null,
    environment: settings.environment,
    scopes: settings.scopes,
    rate_limit: settings.rate_limit.limit,
    rate_window_seconds: settings.rate_limit.window_seconds,
    expires_at: settings.expires_at,
    created_at: now,
    rotated_from: rotatedFrom,
  };
  const policy: KeyPolicy = {
    status: "active",
    tenantActive: tenant.active,
    expiresAt: row.expires_at,
    scopes: row.scopes,
    limit: row.rate_limit,
    windowSeconds: row.rate_window_seconds,
  };
  await writeKeyPolicy(env, row.id, policy, policy, tenant.version);
  return { row, plaintext };
}

/**
 * After D1 has the new key: the first request with it finds it at the edge. A tenant suspended or
 * reactivated between our read of it and the insert fanned out to the keys it could see, which did
 * not include this one, so the tenant's status is read again and carried to the key's object, with
 * its version: if that fan-out did reach the key after all, the object keeps the newer of the two.
 */
async function publish(env: Env, id: string, written: TenantStatus): Promise<AdminKeyRow> {
  const created = await loadKey(env, id);
  if (created.tenant_version !== written.version) {
    await writeKeyPolicy(env, id, { tenantActive: created.tenant_status === "active" }, policyFromRow(created), created.tenant_version);
  }
  await cacheKey(env, created.key_hash, recordOf(created));
  return created;
}

/** Issues a key. The plaintext is returned once and never stored. */
export async function createKey(env: Env, config: Config, actor: Actor, settings: KeySettings) {
  const tenantRow = await getTenant(env.DB, settings.tenant_id);
  if (!tenantRow) throw new ApiError("not_found", "No such tenant.", { field: "tenant_id" });
  const now = Date.now();
  const tenant: TenantStatus = { active: tenantRow.status === "active", version: tenantRow.updated_at };
  const { row, plaintext } = await issue(env, config, prefixedId("key"), tenant, settings, null, now);
  await env.DB.batch([insertKey(env.DB, row), auditStatement(env.DB, actor, "key.created", keyResource(row), now)]);
  return { row: await publish(env, row.id, tenant), plaintext };
}

/**
 * Name, description, scopes, expiry, rate limit: in force for the very next request. Only the
 * fields given are written, to the key's object and to D1 alike, so concurrent PATCHes of
 * different fields both hold; a PATCH of name or description alone never touches the object.
 */
export async function updateKey(env: Env, actor: Actor, row: AdminKeyRow, input: KeyUpdateInput): Promise<AdminKeyRow> {
  assertChangeable(row);
  const policy: Partial<KeyPolicy> = {
    ...(input.scopes !== undefined ? { scopes: input.scopes } : {}),
    ...(input.expires_at !== undefined ? { expiresAt: input.expires_at } : {}),
    ...(input.rate_limit !== undefined ? { limit: input.rate_limit.limit, windowSeconds: input.rate_limit.window_seconds } : {}),
  };
  const changesPolicy = Object.keys(policy).length > 0;
  if (changesPolicy) await writeKeyPolicy(env, row.id, policy, policyFromRow(row));
  const change: KeyChange = {
    name: input.name,
    description: input.description,
    scopes: input.scopes,
    expires_at: input.expires_at,
    rate_limit: input.rate_limit?.limit,
    rate_window_seconds: input.rate_limit?.window_seconds,
  };
  const now = Date.now();
  const details = { changes: { ...input, ...(input.expires_at !== undefined ? { expires_at: iso(input.expires_at) } : {}) } };
  const [updated] = await env.DB.batch([
    updateKeyRow(env.DB, row.id, change, now),
    auditStatement(env.DB, actor, "key.updated", keyResource(row), now, details, { ifChanged: true }),
  ]);
  if (changesPolicy) await forgetKey(env, row.key_hash);
  // Revoked or deleted since we read it: the object kept it so, and the row was left alone.
  if (!updated?.meta.changes) throw new ApiError("conflict", "The key was revoked or deleted meanwhile.");
  return loadKey(env, row.id);
}

/**
 * A new key with the old one's settings; the old key works for `graceSeconds` more (never longer
 * than it would have anyway), then fails as expired. The old key's object is asked first: it
 * grants one rotation only (of two concurrent rotations, the second gets 409 and nothing is
 * made) and shortens the old key's life in the same step. Then the new key's object, then D1.
 * A failure after the claim leaves the old key ending on time and no successor: create a new key.
 */
export async function rotateKey(env: Env, config: Config, actor: Actor, row: AdminKeyRow, graceSeconds: number) {
  assertChangeable(row);
  if (row.rotated_to !== null) throw new ApiError("conflict", "The key was already rotated.", { rotated_to: row.rotated_to });
  const now = Date.now();
  if (row.expires_at !== null && row.expires_at <= now) {
    throw new ApiError("conflict", "The key has expired: extend it with PATCH first, or create a new key.");
  }
  const oldExpiresAt = Math.min(row.expires_at ?? Number.POSITIVE_INFINITY, now + graceSeconds * 1000);
  const successorId = prefixedId("key");
  if (!(await keyGuard(env, row.id).claimRotation(successorId, oldExpiresAt, policyFromRow(row)))) {
    throw new ApiError("conflict", "The key was rotated, revoked or deleted meanwhile.");
  }
  const settings: KeySettings = {
    ...strengthOf(row),
    tenant_id: row.tenant_id,
    name: row.name ?? undefined,
    description: row.description ?? undefined,
  };
  const tenant: TenantStatus = { active: row.tenant_status === "active", version: row.tenant_version };
  const { row: next, plaintext } = await issue(env, config, successorId, tenant, settings, row.id, now);
  await env.DB.batch([
    markRotated(env.DB, row.id, next.id, oldExpiresAt, now),
    auditStatement(env.DB, actor, "key.rotated", keyResource(row), now, {
      rotated_to: next.id,
      grace_seconds: graceSeconds,
      expires_at: iso(oldExpiresAt),
    }),
    insertKey(env.DB, next),
    auditStatement(env.DB, actor, "key.created", keyResource(next), now, { rotated_from: row.id }),
  ]);
  await forgetKey(env, row.key_hash);
  return { row: await publish(env, next.id, tenant), plaintext };
}

/**
 * Revoking is final and immediate: the key's object refuses it before this returns. The object is
 * written even when D1 already says revoked (it is idempotent), so repeating a revoke repairs an
 * object that missed it; D1 and the audit trail only record the first.
 */
export async function revokeKey(env: Env, actor: Actor, row: AdminKeyRow): Promise<AdminKeyRow> {
  if (row.deleted_at !== null) throw new ApiError("conflict", "The key is deleted.");
  await writeKeyPolicy(env, row.id, { status: "revoked" }, policyFromRow(row));
  if (row.revoked_at === null) {
    const now = Date.now();
    await env.DB.batch([markRevoked(env.DB, row.id, now), auditStatement(env.DB, actor, "key.revoked", keyResource(row), now, undefined, { ifChanged: true })]);
  }
  await forgetKey(env, row.key_hash);
  return loadKey(env, row.id);
}

/** Deleting is final and immediate; the row stays (as deleted) for the audit trail. Idempotent as revoking is. */
export async function deleteKey(env: Env, actor: Actor, row: AdminKeyRow): Promise<void> {
  await writeKeyPolicy(env, row.id, { status: "deleted" }, policyFromRow(row));
  if (row.deleted_at === null) {
    const now = Date.now();
    await env.DB.batch([markDeleted(env.DB, row.id, now), auditStatement(env.DB, actor, "key.deleted", keyResource(row), now, undefined, { ifChanged: true })]);
  }
  await forgetKey(env, row.key_hash);
}
