import type { Config } from "../config";
import { ApiError } from "../http/errors";
import { displayForm, generateKey, type Environment } from "../keys/format";
import { hashKey } from "../keys/hash";
import { prefixedId } from "../keys/random";
import { writeKeyPolicy } from "../ratelimit/guard-client";
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
import { policyFromRow, recordFromRow } from "../store/key-rows";
import type { KeyPolicy } from "../store/records";
import { getTenant } from "../store/tenant-repo";
import { auditStatement, keyResource, type Actor } from "./audit-trail";
import { iso } from "./time";

/**
 * Every change to a key follows one order: the key's Durable Object first (it alone decides
 * requests, so a change is in force once it is written there), then D1 with the audit event in
 * the same batch, then the KV and isolate caches.
 */

export interface KeySettings {
  tenant_id: string;
  name?: string | null;
  description?: string | null;
  environment: Environment;
  scopes?: string[];
  expires_at?: number | null;
  rate_limit?: { limit: number; window_seconds: number };
}

/** A PATCH: absent fields stay as they are. */
export interface KeyUpdateInput {
  name?: string | null;
  description?: string | null;
  scopes?: string[];
  expires_at?: number | null;
  rate_limit?: { limit: number; window_seconds: number };
}

const DEFAULT_SCOPES = ["read", "write"];

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

/**
 * Makes a key and writes its Durable Object, so the key exists nowhere that could serve it before
 * its authoritative state does. The caller inserts the row.
 */
async function issue(env: Env, config: Config, tenantActive: boolean, settings: KeySettings, rotatedFrom: string | null, now: number) {
  const plaintext = generateKey(config.keyPrefix, settings.environment);
  const row: NewKey = {
    id: prefixedId("key"),
    tenant_id: settings.tenant_id,
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
    tenantActive,
    expiresAt: row.expires_at,
    scopes: row.scopes,
    limit: row.rate_limit,
    windowSeconds: row.rate_window_seconds,
  };
  await writeKeyPolicy(env, row.id, policy, policy);
  return { row, plaintext };
}

/**
 * After D1 has the new key: the first request with it finds it at the edge. A tenant suspended or
 * reactivated between our read of it and the insert fanned out to the keys it could see, which did
 * not include this one, so the tenant's status is read again and carried to the key's object.
 */
async function publish(env: Env, id: string, tenantActiveWritten: boolean): Promise<AdminKeyRow> {
  const created = await loadKey(env, id);
  const tenantActive = created.tenant_status === "active";
  if (tenantActive !== tenantActiveWritten) await writeKeyPolicy(env, id, { tenantActive }, policyFromRow(created));
  await cacheKey(env, created.key_hash, recordFromRow(created));
  return created;
}

/** Issues a key. The plaintext is returned once and never stored. */
export async function createKey(env: Env, config: Config, actor: Actor, settings: KeySettings) {
  const tenant = await getTenant(env.DB, settings.tenant_id);
  if (!tenant) throw new ApiError("not_found", "No such tenant.", { field: "tenant_id" });
  const now = Date.now();
  const tenantActive = tenant.status === "active";
  const { row, plaintext } = await issue(env, config, tenantActive, settings, null, now);
  await env.DB.batch([insertKey(env.DB, row), auditStatement(env.DB, actor, "key.created", keyResource(row), now)]);
  return { row: await publish(env, row.id, tenantActive), plaintext };
}

/** Name, description, scopes, expiry, rate limit: in force for the very next request. */
export async function updateKey(env: Env, actor: Actor, row: AdminKeyRow, input: KeyUpdateInput): Promise<AdminKeyRow> {
  assertChangeable(row);
  const change: KeyChange = {
    name: input.name !== undefined ? input.name : row.name,
    description: input.description !== undefined ? input.description : row.description,
    scopes: input.scopes ?? (JSON.parse(row.scopes) as string[]),
    expires_at: input.expires_at !== undefined ? input.expires_at : row.expires_at,
    rate_limit: input.rate_limit?.limit ?? row.rate_limit,
    rate_window_seconds: input.rate_limit?.window_seconds ?? row.rate_window_seconds,
  };
  const now = Date.now();
  await writeKeyPolicy(
    env,
    row.id,
    { scopes: change.scopes, expiresAt: change.expires_at, limit: change.rate_limit, windowSeconds: change.rate_window_seconds },
    policyFromRow(row),
  );
  const details = { changes: { ...input, ...(input.expires_at !== undefined ? { expires_at: iso(input.expires_at) } : {}) } };
  await env.DB.batch([updateKeyRow(env.DB, row.id, change, now), auditStatement(env.DB, actor, "key.updated", keyResource(row), now, details)]);
  await forgetKey(env, row.key_hash);
  return loadKey(env, row.id);
}

/**
 * A new key with the old one's settings; the old key works for `graceSeconds` more (never longer
 * than it would have anyway), then fails as expired. Both keys' objects are written before D1, so
 * a failure part-way leaves the old key ending early rather than living on unrecorded.
 */
export async function rotateKey(env: Env, config: Config, actor: Actor, row: AdminKeyRow, graceSeconds: number) {
  assertChangeable(row);
  if (row.rotated_to !== null) throw new ApiError("conflict", "The key was already rotated.", { rotated_to: row.rotated_to });
  const now = Date.now();
  if (row.expires_at !== null && row.expires_at <= now) {
    throw new ApiError("conflict", "The key has expired: extend it with PATCH first, or create a new key.");
  }
  const oldExpiresAt = Math.min(row.expires_at ?? Number.POSITIVE_INFINITY, now + graceSeconds * 1000);
  const settings: KeySettings = {
    tenant_id: row.tenant_id,
    name: row.name,
    description: row.description,
    environment: row.environment,
    scopes: JSON.parse(row.scopes) as string[],
    expires_at: row.expires_at,
    rate_limit: { limit: row.rate_limit, window_seconds: row.rate_window_seconds },
  };
  const tenantActive = row.tenant_status === "active";
  const { row: next, plaintext } = await issue(env, config, tenantActive, settings, row.id, now);
  await writeKeyPolicy(env, row.id, { expiresAt: oldExpiresAt }, policyFromRow(row));
  await env.DB.batch([
    insertKey(env.DB, next),
    markRotated(env.DB, row.id, next.id, oldExpiresAt, now),
    auditStatement(env.DB, actor, "key.rotated", keyResource(row), now, {
      rotated_to: next.id,
      grace_seconds: graceSeconds,
      expires_at: iso(oldExpiresAt),
    }),
    auditStatement(env.DB, actor, "key.created", keyResource(next), now, { rotated_from: row.id }),
  ]);
  await forgetKey(env, row.key_hash);
  return { row: await publish(env, next.id, tenantActive), plaintext };
}

/** Revoking is final and immediate: the key's object refuses it before this returns. */
export async function revokeKey(env: Env, actor: Actor, row: AdminKeyRow): Promise<AdminKeyRow> {
  if (row.deleted_at !== null) throw new ApiError("conflict", "The key is deleted.");
  if (row.revoked_at !== null) return row;
  const now = Date.now();
  await writeKeyPolicy(env, row.id, { status: "revoked" }, policyFromRow(row));
  await env.DB.batch([markRevoked(env.DB, row.id, now), auditStatement(env.DB, actor, "key.revoked", keyResource(row), now)]);
  await forgetKey(env, row.key_hash);
  return loadKey(env, row.id);
}

/** Deleting is final and immediate; the row stays (as deleted) for the audit trail. */
export async function deleteKey(env: Env, actor: Actor, row: AdminKeyRow): Promise<void> {
  if (row.deleted_at !== null) return;
  const now = Date.now();
  await writeKeyPolicy(env, row.id, { status: "deleted" }, policyFromRow(row));
  await env.DB.batch([markDeleted(env.DB, row.id, now), auditStatement(env.DB, actor, "key.deleted", keyResource(row), now)]);
  await forgetKey(env, row.key_hash);
}
