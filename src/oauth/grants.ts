import { quotaRef } from "../authority/key";
import { GRANT_ENVIRONMENT, grantPolicy, grantWindows, type Grant, type GrantEndReason, type OAuthClient } from "../authority/oauth";
import { FANOUT_BUDGET, inChunks } from "../guards/guard-client";
import { ApiError } from "../http/errors";
import type { Services } from "../services";
import {
  getGrant,
  grantsOutOfStep,
  insertGrant,
  liveGrants,
  markGrantRevoked,
  updateGrantPolicy,
  type GrantFilter,
  type NewGrant,
} from "../store/oauth-grant-repo";
import { getTenant, quotasOf } from "../store/tenant-repo";
import { auditStatement, grantResource, type Actor } from "../store/audit-trail";

/**
 * A grant's life follows a key's order: its Durable Object first (it alone decides requests with
 * the grant's tokens, so a change is in force once it is written there), then D1 with the audit
 * event in the same batch. Grants are never cached by their id (only their tokens are, and those
 * only hold what never changes), so there is no cache to forget.
 */

export async function loadGrant(services: Services, id: string): Promise<Grant> {
  const grant = await getGrant(services.db, id);
  if (!grant) throw new ApiError("not_found", "No such grant.");
  return grant;
}

/**
 * Makes a grant: its object is written before D1 has the row, so nothing can serve the grant before
 * its authoritative state exists. A tenant suspended or reactivated between our read of it and the
 * insert fanned out to the grants it could see, which did not include this one: the tenant's status
 * and live quota are read again and carried to the object with their version (the object keeps the
 * newer of the two). A grant spends its tenant's live quota as the tenant's live keys do.
 */
export async function createGrant(services: Services, actor: Actor, grant: Omit<NewGrant, "createdAt">): Promise<Grant> {
  const { db } = services;
  const tenant = await getTenant(db, grant.tenantId);
  if (!tenant) throw new ApiError("not_found", "No such tenant.", { field: "tenant_id" });
  const policy = grantPolicy({
    ...grant,
    revokedAt: null,
    tenantActive: tenant.status === "active",
    quota: quotaRef(tenant.id, GRANT_ENVIRONMENT, quotasOf(tenant), tenant.updated_at),
  });
  await services.guards.writePolicy(grant.id, policy, policy, tenant.updated_at);
  const now = services.clock.now();
  const created: NewGrant = { ...grant, createdAt: now };
  await db.batch([insertGrant(db, created), auditStatement(db, actor, "oauth_grant.created", grantResource(created), now, grantDetails(created))]);
  const stored = await loadGrant(services, grant.id);
  if (stored.tenantVersion !== tenant.updated_at) {
    await services.guards.writePolicy(stored.id, { tenantActive: stored.tenantActive, quota: stored.quota }, grantPolicy(stored), stored.tenantVersion);
  }
  return stored;
}

function grantDetails(grant: NewGrant): Record<string, unknown> {
  return { client_id: grant.clientId, subject: grant.subject, scopes: grant.scopes };
}

/**
 * Ends a grant, for good and at once: its object refuses every token of it before this returns.
 * The object is written even when D1 already says revoked (it is idempotent), so repeating a
 * revocation repairs an object that missed it; D1 and the audit trail only record the first.
 */
export async function endGrant(services: Services, actor: Actor, grant: Grant, reason: GrantEndReason): Promise<void> {
  await revokeGrants(services, actor, [grant], reason);
}

/** What a bulk change did: how many grants, and whether more remain (the caller repeats the call). */
export interface FanoutResult {
  count: number;
  pending: boolean;
}

/**
 * Ends up to FANOUT_BUDGET live grants that match (a user's, a client's): each object first, then
 * D1. More than that in one call would exceed the Workers subrequest limit: `pending` says some
 * remain, and the same call again continues (the ended ones no longer match).
 */
export async function endGrants(services: Services, actor: Actor, filter: Omit<GrantFilter, "state">, reason: GrantEndReason): Promise<FanoutResult> {
  const grants = await liveGrants(services.db, filter, FANOUT_BUDGET);
  await revokeGrants(services, actor, grants, reason);
  return { count: grants.length, pending: grants.length === FANOUT_BUDGET };
}

/**
 * What ending grants writes: every grant's object first, then, for those D1 does not yet say
 * revoked, their rows and audit events in one batch.
 */
async function revokeGrants(services: Services, actor: Actor, grants: readonly Grant[], reason: GrantEndReason): Promise<void> {
  await inChunks(grants, (grant) => services.guards.writePolicy(grant.id, { status: "revoked" }, grantPolicy(grant)));
  const live = grants.filter((grant) => grant.revokedAt === null);
  if (live.length === 0) return;
  const now = services.clock.now();
  const { db } = services;
  await db.batch(
    live.flatMap((grant) => [
      markGrantRevoked(db, grant.id, reason, now),
      auditStatement(db, actor, "oauth_grant.revoked", grantResource(grant), now, { reason }, { ifChanged: true }),
    ]),
  );
}

/**
 * A client's grants follow its settings: each live grant keeps only the scopes the client may
 * still be granted (its own client_credentials grant holds exactly those) and takes the client's
 * rate limit, in force on the very next request with its tokens; FANOUT_BUDGET grants per call, as
 * endGrants does.
 */
export async function conformGrants(services: Services, client: OAuthClient): Promise<FanoutResult> {
  const grants = await grantsOutOfStep(services.db, client, FANOUT_BUDGET);
  const { limit, windowSeconds } = client;
  const changes = grants.map((grant) => ({
    grant,
    scopes: grant.subject === null ? client.scopes : grant.scopes.filter((scope) => client.scopes.includes(scope)),
  }));
  const windows = grantWindows(limit, windowSeconds);
  await inChunks(changes, ({ grant, scopes }) => services.guards.writePolicy(grant.id, { scopes, windows }, grantPolicy(grant)));
  const now = services.clock.now();
  const { db } = services;
  if (changes.length > 0) await db.batch(changes.map(({ grant, scopes }) => updateGrantPolicy(db, grant.id, { scopes, limit, windowSeconds }, now)));
  return { count: grants.length, pending: grants.length === FANOUT_BUDGET };
}
