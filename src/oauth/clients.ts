import type { OAuthClient } from "../authority/oauth";
import { ApiError } from "../http/errors";
import { hashKey } from "../keys/hash";
import { prefixedId } from "../keys/random";
import { generateToken } from "../keys/token-format";
import type { Services } from "../services";
import { getClient, getLiveClient, insertClient, markClientDeleted, updateClient, type ClientChange } from "../store/oauth-client-repo";
import { getTenant } from "../store/tenant-repo";
import { auditStatement, oauthClientResource, type Actor } from "../store/audit-trail";
import { conformGrants, endGrants, type FanoutResult } from "./grants";

/**
 * An app's registration: made by an admin for the tenant that owns the app, or by the app itself
 * (RFC 7591, when the operator allows it). A confidential client's secret is shown once and stored
 * only as its SHA-256; it is keygate-formatted (`kg_cs_…`), so a secret scanner recognises it.
 */
export type ClientSettings = Pick<OAuthClient, "tenantId" | "name" | "type" | "redirectUris" | "scopes" | "grantTypes" | "limit" | "windowSeconds">;

/** A client that is not deleted; a deleted one reads as none. */
export async function loadClient(services: Services, id: string): Promise<OAuthClient> {
  const client = await getLiveClient(services.db, id);
  if (!client) throw new ApiError("not_found", "No such OAuth client.");
  return client;
}

export async function createClient(services: Services, actor: Actor, settings: ClientSettings): Promise<{ client: OAuthClient; secret: string | null }> {
  const { db } = services;
  if (settings.tenantId !== null && !(await getTenant(db, settings.tenantId))) throw new ApiError("not_found", "No such tenant.", { field: "tenant_id" });
  const secret = settings.type === "confidential" ? generateToken(services.config.keyPrefix, "clientSecret") : null;
  const now = services.clock.now();
  const client = { ...settings, id: prefixedId("cli"), secretHash: secret === null ? null : await hashKey(secret), createdAt: now };
  const details = { name: client.name, type: client.type, redirect_uris: client.redirectUris, scopes: client.scopes, grant_types: client.grantTypes };
  await db.batch([insertClient(db, client), auditStatement(db, actor, "oauth_client.created", oauthClientResource(client), now, details)]);
  return { client: await loadClient(services, client.id), secret };
}

/**
 * Name, redirect URIs, scopes, rate limit. Scopes and rate limit also reach every live grant of the
 * client (see conformGrants): a scope the app may no longer have is gone from its tokens on their
 * very next request. `fanout.pending`: more grants remain; the same call again continues.
 */
export async function changeClient(services: Services, actor: Actor, client: OAuthClient, change: ClientChange, details: Record<string, unknown>) {
  const { db } = services;
  const now = services.clock.now();
  const [updated] = await db.batch([
    updateClient(db, client.id, change, now),
    auditStatement(db, actor, "oauth_client.updated", oauthClientResource(client), now, { changes: details }, { ifChanged: true }),
  ]);
  if (!updated?.meta.changes) throw new ApiError("not_found", "No such OAuth client.");
  const changed = await loadClient(services, client.id);
  const grantsAffected = change.scopes !== undefined || change.limit !== undefined;
  const fanout: FanoutResult | null = grantsAffected ? await conformGrants(services, changed) : null;
  return { client: changed, fanout };
}

/** A new secret, shown once; the old one stops working at once. Public clients have none. */
export async function rotateClientSecret(services: Services, actor: Actor, client: OAuthClient): Promise<string> {
  if (client.type !== "confidential") throw new ApiError("conflict", "A public client has no secret.");
  const secret = generateToken(services.config.keyPrefix, "clientSecret");
  const { db } = services;
  const now = services.clock.now();
  const [updated] = await db.batch([
    updateClient(db, client.id, { secretHash: await hashKey(secret) }, now),
    auditStatement(db, actor, "oauth_client.secret_rotated", oauthClientResource(client), now, undefined, { ifChanged: true }),
  ]);
  if (!updated?.meta.changes) throw new ApiError("not_found", "No such OAuth client.");
  return secret;
}

/**
 * Deleting an app ends it and every grant it holds: no new authorization or token for it, and each
 * grant's object refuses its tokens before this returns (up to FANOUT_BUDGET grants per call;
 * `pending` says more remain, and deleting again continues). The row stays, as deleted, for the
 * audit trail.
 */
export async function deleteClient(services: Services, actor: Actor, id: string): Promise<FanoutResult> {
  const { db } = services;
  const client = await getClient(db, id);
  if (!client) throw new ApiError("not_found", "No such OAuth client.");
  if (client.deletedAt === null) {
    const now = services.clock.now();
    await db.batch([markClientDeleted(db, id, now), auditStatement(db, actor, "oauth_client.deleted", oauthClientResource(client), now, undefined, { ifChanged: true })]);
  }
  return endGrants(services, actor, { clientId: id }, "client_deleted");
}
