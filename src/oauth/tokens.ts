import { grantRecord, scopeParam, type Grant } from "../authority/oauth";
import { hashKey } from "../keys/hash";
import { generateToken } from "../keys/token-format";
import type { Services } from "../services";
import { insertToken } from "../store/oauth-token-repo";

/** The token endpoint's answer (RFC 6749 §5.1). */
export interface TokenResponse {
  access_token: string;
  token_type: "Bearer";
  expires_in: number;
  /** Always said: the scopes the token carries are its grant's, whatever a refresh asked for (RFC 6749 §3.3). */
  scope: string;
  refresh_token?: string;
}

/**
 * An access token for the grant (and a refresh token with `withRefresh`: a user's grant, of a client
 * registered for refresh_token), stored only as hashes.
 * `also` are statements to commit with them (the end of the refresh token they replace). The access
 * token is put at the edge at once, so its first request finds it without D1.
 */
export async function issueTokens(services: Services, grant: Grant, withRefresh: boolean, also: D1PreparedStatement[] = []): Promise<TokenResponse> {
  const { config, db } = services;
  const now = services.clock.now();
  const { accessTokenTtlSeconds, refreshTokenTtlSeconds } = config.oauth;
  const access = generateToken(config.keyPrefix, "access");
  const accessHash = await hashKey(access);
  const accessExpiresAt = now + accessTokenTtlSeconds * 1000;
  const owner = { grantId: grant.id, clientId: grant.clientId, createdAt: now };
  const statements = [insertToken(db, { hash: accessHash, kind: "access", expiresAt: accessExpiresAt, ...owner }), ...also];
  const refresh = withRefresh ? generateToken(config.keyPrefix, "refresh") : null;
  if (refresh) statements.push(insertToken(db, { hash: await hashKey(refresh), kind: "refresh", expiresAt: now + refreshTokenTtlSeconds * 1000, ...owner }));
  await db.batch(statements);
  await services.tokens.cache(accessHash, { grant: grantRecord(grant), clientId: grant.clientId, subject: grant.subject, expiresAt: accessExpiresAt });
  return {
    access_token: access,
    token_type: "Bearer",
    expires_in: accessTokenTtlSeconds,
    scope: scopeParam(grant.scopes),
    ...(refresh ? { refresh_token: refresh } : {}),
  };
}
