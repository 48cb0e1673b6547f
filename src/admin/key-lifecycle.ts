import { policyOf, quotaRef, recordOf, type Environment, type Key, type KeyPolicy, type QuotaRef } from "../authority/key";
import { CREDITS_LIMIT_NAME } from "../authority/plan";
import { changeRefusal, isExpired, revokeRefusal } from "../authority/status";
import type { KeyStrength } from "../authority/strength";
import { ApiError } from "../http/errors";
import { displayForm, generateKey } from "../keys/format";
import { hashKey } from "../keys/hash";
import { prefixedId } from "../keys/random";
import type { PolicyChange } from "../guards/key-guard";
import type { Services } from "../services";
import { getKey, insertKey, markDeleted, markRevoked, markRotated, updateKey as updateKeyRow, type KeyChange, type NewKey } from "../store/key-repo";
import { getTenant, quotasOf } from "../store/tenant-repo";
import { auditStatement, keyResource, type Actor } from "../store/audit-trail";
import { creditsFromWire, windowsGiven } from "./plans";
import type { KeyUpdateInput } from "./schemas";
import { iso } from "./time";

/**
 * Every change to a key follows one order: the key's Durable Object first (it alone decides
 * requests, so a change is in force once it is written there), then D1 with the audit event in
 * the same batch, then the KV and isolate caches.
 */

/** A create request with every default resolved (key-bounds.ts): what a key is issued with. */
export interface KeySettings extends KeyStrength {
  tenantId: string;
  name: string | null;
  description: string | null;
  environment: Environment;
}

/** Gives back credits taken from the issuing key for a new key that was then not issued (key-bounds.ts). */
export type CreditsRefund = () => Promise<void>;

/**
 * A tenant's status as read from D1, with its version (tenants.updated_at) to order writes by, and
 * the quota the new key spends from (for its environment), referenced with the same version.
 */
interface TenantStatus {
  active: boolean;
  version: number;
  quota: QuotaRef | null;
}

export async function loadKey(services: Services, id: string): Promise<Key> {
  const key = await getKey(services.db, id);
  if (!key) throw new ApiError("not_found", "No such key.");
  return key;
}

/** Revoked and deleted keys can be neither changed nor rotated (authority/status.ts). */
function assertChangeable(key: Key): void {
  const refusal = changeRefusal(key.status);
  if (refusal) throw new ApiError("conflict", `The key is ${refusal}.`);
}

/**
 * Makes a key and writes its Durable Object, so the key exists nowhere that could serve it before
 * its authoritative state does. The caller inserts the row.
 */
async function issue(services: Services, id: string, tenant: TenantStatus, settings: KeySettings, rotatedFrom: string | null, now: number) {
  const { keyPrefix } = services.config;
  const plaintext = generateKey(keyPrefix, settings.environment);
  const key: NewKey = {
    id,
    tenantId: settings.tenantId,
    hash: await hashKey(plaintext),
    display: displayForm(plaintext, keyPrefix),
    name: settings.name,
    description: settings.description,
    environment: settings.environment,
    scopes: settings.scopes,
    windows: settings.windows,
    credits: settings.credits ? { refill: settings.credits.refill } : null,
    creditsSet: settings.credits?.remaining ?? null,
    expiresAt: settings.expiresAt,
    createdAt: now,
    rotatedFrom,
  };
  const policy: KeyPolicy = {
    status: "active",
    tenantActive: tenant.active,
    expiresAt: key.expiresAt,
    scopes: key.scopes,
    windows: key.windows,
    credits: key.credits,
    quota: tenant.quota,
  };
  const credits = key.creditsSet === null ? {} : { creditsRemaining: key.creditsSet };
  await services.guards.writePolicy(key.id, { ...policy, ...credits }, policy, tenant.version);
  return { key, plaintext };
}

/**
 * The credits a key has left, as its object counts them now; null for a key without credits. An
 * object that has not been written yet (a key made by other means) has what D1 says was set.
 */
export async function creditsLeft(services: Services, key: Pick<Key, "id" | "credits" | "creditsSet">): Promise<number | null> {
  if (!key.credits) return null;
  const credits = (await services.guards.key(key.id).standing()).find((limit) => limit.name === CREDITS_LIMIT_NAME && !limit.window);
  return credits ? credits.remaining : (key.creditsSet ?? 0);
}

/**
 * After D1 has the new key: the first request with it finds it at the edge. A tenant suspended or
 * reactivated between our read of it and the insert fanned out to the keys it could see, which did
 * not include this one, so the tenant's status is read again and carried to the key's object, with
 * its version: if that fan-out did reach the key after all, the object keeps the newer of the two.
 * A quota changed meanwhile is carried the same way (its reference is versioned alike).
 */
async function publish(services: Services, id: string, written: TenantStatus): Promise<Key> {
  const created = await loadKey(services, id);
  if (created.tenantVersion !== written.version) {
    const quota = sameQuota(created.quota, written.quota) ? {} : { quota: created.quota };
    await services.guards.writePolicy(id, { tenantActive: created.tenantActive, ...quota }, policyOf(created), created.tenantVersion);
  }
  await services.keys.cache(created.hash, recordOf(created));
  return created;
}

function sameQuota(a: QuotaRef | null, b: QuotaRef | null): boolean {
  return a?.object === b?.object && a?.version === b?.version;
}

/**
 * Issues a key. The plaintext is returned once and never stored. `refund` gives back the credits
 * a self-service key gave the new key out of its own, should the key not be issued: it is issued
 * once D1 has its row (what follows only makes it known at the edge sooner).
 */
export async function createKey(services: Services, actor: Actor, settings: KeySettings, refund: CreditsRefund | null = null) {
  const { key, plaintext, tenant } = await insertNewKey(services, actor, settings).catch(async (error: unknown) => {
    // The error is the answer; credits that cannot be given back stay with no key (never with two).
    await refund?.().catch((failure: unknown) => console.error("keygate: giving back the credits taken for a key not issued failed", failure));
    throw error;
  });
  return { key: await publish(services, key.id, tenant), plaintext };
}

/** The new key's object, then its row in D1 with the audit event: once that batch holds, the key is issued. */
async function insertNewKey(services: Services, actor: Actor, settings: KeySettings) {
  const { db } = services;
  const tenantRow = await getTenant(db, settings.tenantId);
  if (!tenantRow) throw new ApiError("not_found", "No such tenant.", { field: "tenant_id" });
  const now = services.clock.now();
  const tenant: TenantStatus = {
    active: tenantRow.status === "active",
    version: tenantRow.updated_at,
    quota: quotaRef(tenantRow.id, settings.environment, quotasOf(tenantRow), tenantRow.updated_at),
  };
  const { key, plaintext } = await issue(services, prefixedId("key"), tenant, settings, null, now);
  await db.batch([insertKey(db, key), auditStatement(db, actor, "key.created", keyResource(key), now)]);
  return { key, plaintext, tenant };
}

/**
 * Name, description, scopes, expiry, windows, credits: in force for the very next request. Only
 * the fields given are written, to the key's object and to D1 alike, so concurrent PATCHes of
 * different fields both hold; a PATCH of name or description alone never touches the object.
 * Credits given set what the key has from now (its object counts down from there).
 */
export async function updateKey(services: Services, actor: Actor, key: Key, input: KeyUpdateInput): Promise<Key> {
  assertChangeable(key);
  const windows = windowsGiven(input);
  const credits = input.credits === undefined ? undefined : input.credits === null ? null : creditsFromWire(input.credits);
  const policy: PolicyChange = {
    ...(input.scopes !== undefined ? { scopes: input.scopes } : {}),
    ...(input.expires_at !== undefined ? { expiresAt: input.expires_at } : {}),
    ...(windows !== undefined ? { windows } : {}),
    ...(credits !== undefined ? { credits: credits?.plan ?? null, ...(credits ? { creditsRemaining: credits.remaining } : {}) } : {}),
  };
  const changesPolicy = Object.keys(policy).length > 0;
  if (changesPolicy) await services.guards.writePolicy(key.id, policy, policyOf(key));
  const change: KeyChange = {
    name: input.name,
    description: input.description,
    scopes: input.scopes,
    expiresAt: input.expires_at,
    windows,
    ...(credits !== undefined ? { credits: credits?.plan ?? null, creditsSet: credits?.remaining ?? null } : {}),
  };
  const now = services.clock.now();
  const details = { changes: { ...input, ...(input.expires_at !== undefined ? { expires_at: iso(input.expires_at) } : {}) } };
  const { db } = services;
  const [updated] = await db.batch([
    updateKeyRow(db, key.id, change, now),
    auditStatement(db, actor, "key.updated", keyResource(key), now, details, { ifChanged: true }),
  ]);
  if (changesPolicy) await services.keys.forget(key.hash);
  // Revoked or deleted since we read it: the object kept it so, and the row was left alone.
  if (!updated?.meta.changes) throw new ApiError("conflict", "The key was revoked or deleted meanwhile.");
  return loadKey(services, key.id);
}

/**
 * A new key with the old one's settings; the old key works for `graceSeconds` more (never longer
 * than it would have anyway), then fails as expired. The old key's object is asked first: it
 * grants one rotation only (of two concurrent rotations, the second gets 409 and nothing is
 * made) and shortens the old key's life in the same step. Then the new key's object, then D1.
 * A failure after the claim leaves the old key ending on time and no successor: create a new key.
 *
 * Credits move with the key rather than being copied: the successor starts with what the old key
 * had left, and the old key keeps none (nor its refill) for whatever grace it has left, so a
 * rotation never doubles a balance (a key rotating itself with a grace period could otherwise
 * spend its credits twice, and again at every rotation).
 */
export async function rotateKey(services: Services, actor: Actor, key: Key, graceSeconds: number) {
  assertChangeable(key);
  if (key.rotatedTo !== null) throw new ApiError("conflict", "The key was already rotated.", { rotated_to: key.rotatedTo });
  const now = services.clock.now();
  if (isExpired(key.expiresAt, now)) {
    throw new ApiError("conflict", "The key has expired: extend it with PATCH first, or create a new key.");
  }
  const oldExpiresAt = Math.min(key.expiresAt ?? Number.POSITIVE_INFINITY, now + graceSeconds * 1000);
  const successorId = prefixedId("key");
  const claim = await services.guards.key(key.id).claimRotation(successorId, oldExpiresAt, policyOf(key), key.creditsSet);
  if (!claim) throw new ApiError("conflict", "The key was rotated, revoked or deleted meanwhile.");
  const credits = key.credits ? { ...key.credits, remaining: claim.creditsLeft ?? 0 } : null;
  const { tenantId, name, description, environment, scopes, expiresAt, windows } = key;
  const settings: KeySettings = { tenantId, name, description, environment, scopes, expiresAt, windows, credits };
  const tenant: TenantStatus = { active: key.tenantActive, version: key.tenantVersion, quota: key.quota };
  const { key: next, plaintext } = await issue(services, successorId, tenant, settings, key.id, now);
  const { db } = services;
  await db.batch([
    markRotated(db, key.id, next.id, oldExpiresAt, now),
    ...(credits ? [updateKeyRow(db, key.id, { credits: { refill: null }, creditsSet: 0 }, now)] : []),
    auditStatement(db, actor, "key.rotated", keyResource(key), now, {
      rotated_to: next.id,
      grace_seconds: graceSeconds,
      expires_at: iso(oldExpiresAt),
      ...(credits ? { credits_moved: credits.remaining } : {}),
    }),
    insertKey(db, next),
    auditStatement(db, actor, "key.created", keyResource(next), now, { rotated_from: key.id }),
  ]);
  await services.keys.forget(key.hash);
  return { key: await publish(services, next.id, tenant), plaintext };
}

/**
 * Revoking is final and immediate: the key's object refuses it before this returns. The object is
 * written even when D1 already says revoked (it is idempotent), so repeating a revoke repairs an
 * object that missed it; D1 and the audit trail only record the first.
 */
export async function revokeKey(services: Services, actor: Actor, key: Key): Promise<Key> {
  if (revokeRefusal(key.status)) throw new ApiError("conflict", "The key is deleted.");
  await endKey(services, actor, key, "revoked");
  return loadKey(services, key.id);
}

/** Deleting is final and immediate; the row stays (as deleted) for the audit trail. Idempotent as revoking is. */
export async function deleteKey(services: Services, actor: Actor, key: Key): Promise<void> {
  await endKey(services, actor, key, "deleted");
}

/** The key's object first, then D1 and the audit event (once), then the caches. */
async function endKey(services: Services, actor: Actor, key: Key, status: "revoked" | "deleted"): Promise<void> {
  await services.guards.writePolicy(key.id, { status }, policyOf(key));
  if (key.status !== status) {
    const now = services.clock.now();
    const { db } = services;
    const mark = status === "revoked" ? markRevoked : markDeleted;
    await db.batch([mark(db, key.id, now), auditStatement(db, actor, `key.${status}`, keyResource(key), now, undefined, { ifChanged: true })]);
  }
  await services.keys.forget(key.hash);
}
