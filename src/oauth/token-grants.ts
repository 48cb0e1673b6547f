import { CODE_VERIFIER, grantPolicy, scopeList, scopesBeyond, type Grant, type OAuthClient } from "../authority/oauth";
import { isExpired } from "../authority/status";
import { OAuthError } from "../http/errors";
import { s256Challenge } from "../keys/base64url";
import { hashKey } from "../keys/hash";
import { prefixedId } from "../keys/random";
import { isWellFormedToken } from "../keys/token-format";
import type { Services } from "../services";
import { isUniqueViolation } from "../store/errors";
import { clientOwnGrant, getGrant } from "../store/oauth-grant-repo";
import { getCodeByHash, getToken, markCodeUsed, markRefreshUsed, pruneExpiredTokens, type StoredCode } from "../store/oauth-token-repo";
import { appActor } from "../store/audit-trail";
import { createGrant, endGrant } from "./grants";
import { required, type OAuthParams } from "./params";
import { issueTokens, type TokenResponse } from "./tokens";

/**
 * The token endpoint's three grants. Everything is checked before anything is stored, so a refused
 * request changes nothing, except a code or refresh token presented a second time: that is a sign
 * it was stolen, and ends the grant its first use issued (OAuth 2.1 §4.1.3, §4.3.1).
 */

/** What every grant needs: the services, the authenticated client, and the request's id for the audit trail. */
export interface TokenRequest {
  services: Services;
  client: OAuthClient;
  params: OAuthParams;
  requestId: string;
}

const invalidGrant = (description: string) => new OAuthError("invalid_grant", description);

/**
 * authorization_code: the code, bound to this client, its redirect URI and its PKCE challenge, once.
 * A refresh token comes with the access token only for a client registered for refresh_token.
 */
export async function exchangeCode({ services, client, params, requestId }: TokenRequest): Promise<TokenResponse> {
  const code = required(params, "code");
  const redirectUri = required(params, "redirect_uri");
  const verifier = params.get("code_verifier");
  if (verifier === null) throw new OAuthError("invalid_request", "The parameter code_verifier is required: keygate requires PKCE.");
  if (!CODE_VERIFIER.test(verifier)) throw new OAuthError("invalid_request", "code_verifier must be 43-128 characters of A-Z, a-z, 0-9, -, ., _ and ~.");
  if (!isWellFormedToken(code, services.config.keyPrefix, "code")) throw invalidGrant("The code is not valid.");
  const hash = await hashKey(code);
  const stored = await getCodeByHash(services.db, hash);
  const now = services.clock.now();
  if (!stored || stored.grantId === null) throw invalidGrant("The code is not valid.");
  if (stored.clientId !== client.id) throw invalidGrant("The code was issued to another client.");
  if (stored.usedAt !== null) throw await codeReused(services, client, stored, requestId);
  if (isExpired(stored.expiresAt, now)) throw invalidGrant("The code has expired: start the authorization again.");
  if (redirectUri !== stored.redirectUri) throw invalidGrant("redirect_uri is not the one of the authorization request.");
  if ((await s256Challenge(verifier)) !== stored.codeChallenge) throw invalidGrant("code_verifier does not match the code_challenge of the authorization request.");

  // What the user approved, within what the app may still be granted: an admin may have narrowed
  // the app, or removed the redirect URI, since the code was issued.
  const scopes = stored.scopes!.filter((scope) => client.scopes.includes(scope));
  if (scopes.length === 0) throw invalidGrant("The app may no longer be granted any scope the user approved: start the authorization again.");
  if (!client.redirectUris.includes(stored.redirectUri)) throw invalidGrant("The redirect URI was removed from the app's registration: start the authorization again.");

  const [marked] = await services.db.batch([markCodeUsed(services.db, hash, now)]);
  // Exchanged meanwhile by a concurrent request: the same code used twice.
  if (!marked?.meta.changes) throw await codeReused(services, client, stored, requestId);
  const grant = await createGrant(services, appActor(client.id, requestId), {
    id: stored.grantId,
    tenantId: stored.tenantId!,
    clientId: client.id,
    subject: stored.subject,
    scopes,
    limit: client.limit,
    windowSeconds: client.windowSeconds,
  });
  return issueTokens(services, grant, client.grantTypes.includes("refresh_token"));
}

/**
 * A code presented again ends what its first use issued. If that exchange has not stored its grant
 * yet, the grant's object is told first: it keeps "revoked" whatever the exchange writes after
 * (nothing brings a revoked grant back), so the tokens it hands out never work.
 */
async function codeReused(services: Services, client: OAuthClient, stored: StoredCode, requestId: string): Promise<OAuthError> {
  const grant = await getGrant(services.db, stored.grantId!);
  if (grant) {
    await endGrant(services, appActor(client.id, requestId), grant, "code_reused");
  } else {
    const { limit, windowSeconds } = client;
    const policy = grantPolicy({ revokedAt: services.clock.now(), tenantActive: true, scopes: stored.scopes ?? [], limit, windowSeconds, quota: null });
    await services.guards.writePolicy(stored.grantId!, policy, policy);
  }
  return invalidGrant("The code was already used; the grant it issued is revoked.");
}

/**
 * refresh_token: a refresh token of this client, once. It rotates: the answer holds a new one and
 * this one is spent; presenting a spent one again revokes the whole grant. `scope` may name only
 * scopes of the grant; the new access token carries the grant's scopes all the same, and `scope`
 * in the answer says which (RFC 6749 §3.3).
 */
export async function refreshTokens({ services, client, params, requestId }: TokenRequest): Promise<TokenResponse> {
  const token = required(params, "refresh_token");
  if (!isWellFormedToken(token, services.config.keyPrefix, "refresh")) throw invalidGrant("The refresh token is not valid.");
  const hash = await hashKey(token);
  const stored = await getToken(services.db, hash);
  if (!stored || stored.kind !== "refresh") throw invalidGrant("The refresh token is not valid.");
  const { grant } = stored;
  if (stored.clientId !== client.id) throw invalidGrant("The refresh token was issued to another client.");
  if (stored.usedAt !== null) throw await refreshReused(services, client, grant, requestId);
  const now = services.clock.now();
  if (isExpired(stored.expiresAt, now)) throw invalidGrant("The refresh token has expired: the user must authorize the app again.");
  if (grant.revokedAt !== null) throw invalidGrant("The grant has been revoked: the user must authorize the app again.");
  if (!grant.tenantActive) throw invalidGrant("The tenant this grant acts for is suspended.");
  assertWithin(params.get("scope"), grant.scopes);

  const [marked] = await services.db.batch([markRefreshUsed(services.db, hash, now)]);
  if (!marked?.meta.changes) throw await refreshReused(services, client, grant, requestId);
  return issueTokens(services, grant, true, [pruneExpiredTokens(services.db, grant.id, now)]);
}

async function refreshReused(services: Services, client: OAuthClient, grant: Grant, requestId: string): Promise<OAuthError> {
  await endGrant(services, appActor(client.id, requestId), grant, "refresh_token_reused");
  return invalidGrant("The refresh token was already used; the grant is revoked.");
}

/**
 * client_credentials: a confidential client acting for its own tenant, on its own grant (one per
 * client, made on first use, holding exactly the client's scopes). No refresh token: the client
 * asks again with its secret. Only a confidential client of a tenant registers it (grantTypesProblem).
 */
export async function clientCredentials({ services, client, params, requestId }: TokenRequest): Promise<TokenResponse> {
  assertWithin(params.get("scope"), client.scopes);
  const grant = (await clientOwnGrant(services.db, client.id)) ?? (await createOwnGrant(services, client, client.tenantId!, requestId));
  if (!grant.tenantActive) throw new OAuthError("unauthorized_client", "The app's tenant is suspended.");
  // The client's own grant lives on and on: each new token takes its expired ones away.
  return issueTokens(services, grant, false, [pruneExpiredTokens(services.db, grant.id, services.clock.now())]);
}

async function createOwnGrant(services: Services, client: OAuthClient, tenantId: string, requestId: string): Promise<Grant> {
  const grant = { id: prefixedId("grt"), tenantId, clientId: client.id, subject: null, scopes: client.scopes, limit: client.limit, windowSeconds: client.windowSeconds };
  try {
    return await createGrant(services, appActor(client.id, requestId), grant);
  } catch (error) {
    // Made meanwhile by a concurrent request (one live own grant per client): use that one.
    const made = isUniqueViolation(error) ? await clientOwnGrant(services.db, client.id) : null;
    if (!made) throw error;
    return made;
  }
}

/** `scope`, when given, may name only what `allowed` holds (invalid_scope otherwise). */
function assertWithin(scope: string | null, allowed: readonly string[]): void {
  if (scope === null) return;
  const excess = scopesBeyond(scopeList(scope), allowed);
  if (excess.length > 0) throw new OAuthError("invalid_scope", `Not granted: ${excess.join(", ")}.`);
}
