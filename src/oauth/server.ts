import { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import {
  CLIENT_AUTH_METHODS,
  CODE_CHALLENGE,
  delegationProblem,
  GRANT_TYPES,
  isGrantType,
  MAX_STATE_LENGTH,
  PKCE_METHOD,
  RESPONSE_TYPE,
  scopeList,
  scopesBeyond,
  type GrantType,
  type OAuthClient,
} from "../authority/oauth";
import { DEFAULT_SCOPES } from "../authority/scopes";
import type { Config } from "../config";
import { clientIp } from "../guards/throttle";
import { ApiError, errorResponse, OAuthError, oauthErrorResponse, type AuthorizationErrorCode } from "../http/errors";
import { MAX_BODY_BYTES } from "../http/limits";
import { toApiError } from "../http/on-error";
import type { RequestVariables } from "../request-context";
import { storedAddress } from "../usage/addresses";
import { getLiveClient } from "../store/oauth-client-repo";
import { getTenant } from "../store/tenant-repo";
import { hashKey } from "../keys/hash";
import { isWellFormedToken } from "../keys/token-format";
import { getToken } from "../store/oauth-token-repo";
import { appActor } from "../store/audit-trail";
import { redirectBack } from "./authorizations";
import { authenticateClient } from "./client-auth";
import { endGrant } from "./grants";
import { formParams, required, singleParams, type OAuthParams } from "./params";
import { readRegistration, registerClient } from "./registration";
import { signRequest } from "./requests";
import { describeOAuthServer } from "./server-docs";
import { AUTHORIZATION_SERVER_METADATA, PROTECTED_RESOURCE_METADATA } from "./well-known";
import { clientCredentials, exchangeCode, refreshTokens, type TokenRequest } from "./token-grants";
import type { TokenResponse } from "./tokens";

/**
 * keygate as an OAuth 2.1 authorization server for the API it fronts: metadata (RFC 8414, RFC
 * 9728) on the API's own host, and the authorization, token, revocation (RFC 7009) and, when the
 * operator turns it on, registration (RFC 7591) endpoints under keygate's prefix. Their errors are
 * RFC 6749's `{"error", "error_description"}`, never keygate's envelope.
 */
type OAuthEnv = { Bindings: Env; Variables: RequestVariables };

export const OAUTH_PREFIX = "/_keygate/oauth";

const AUTHORIZE = `${OAUTH_PREFIX}/authorize`;
const TOKEN = `${OAUTH_PREFIX}/token`;
const REVOKE = `${OAUTH_PREFIX}/revoke`;
const REGISTER = `${OAUTH_PREFIX}/register`;

export const oauthServer = new OpenAPIHono<OAuthEnv>();
describeOAuthServer(oauthServer, {
  authorize: AUTHORIZE,
  token: TOKEN,
  revoke: REVOKE,
  register: REGISTER,
  serverMetadata: AUTHORIZATION_SERVER_METADATA,
  resourceMetadata: PROTECTED_RESOURCE_METADATA,
});

oauthServer.use(
  `${OAUTH_PREFIX}/*`,
  bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: () => {
      throw new OAuthError("invalid_request", `Request bodies are limited to ${MAX_BODY_BYTES} bytes.`);
    },
  }),
);

/** keygate's issuer identifier: the origin (scheme, host and port) the client reached it at. */
function issuerOf(c: Context<OAuthEnv>): string {
  return new URL(c.req.url).origin;
}

/** What apps may ask for: the scopes ROUTE_SCOPES names and the defaults, never `*` or keys:manage. */
function scopesSupported(config: Config): string[] {
  const named = [...config.routeScopes.map((rule) => rule.scope), ...DEFAULT_SCOPES];
  return [...new Set(named)].filter((scope) => delegationProblem(scope) === null);
}

oauthServer.get(AUTHORIZATION_SERVER_METADATA, (c) => {
  const issuer = issuerOf(c);
  const { config } = c.get("services");
  return c.json({
    issuer,
    authorization_endpoint: `${issuer}${AUTHORIZE}`,
    token_endpoint: `${issuer}${TOKEN}`,
    revocation_endpoint: `${issuer}${REVOKE}`,
    ...(config.oauth.dynamicRegistration ? { registration_endpoint: `${issuer}${REGISTER}` } : {}),
    response_types_supported: [RESPONSE_TYPE],
    response_modes_supported: ["query"],
    grant_types_supported: GRANT_TYPES,
    code_challenge_methods_supported: [PKCE_METHOD],
    token_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS,
    revocation_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS,
    scopes_supported: scopesSupported(config),
    authorization_response_iss_parameter_supported: true,
  });
});

oauthServer.get(PROTECTED_RESOURCE_METADATA, (c) => {
  const issuer = issuerOf(c);
  return c.json({
    resource: issuer,
    authorization_servers: [issuer],
    scopes_supported: scopesSupported(c.get("services").config),
    bearer_methods_supported: ["header"],
  });
});

/**
 * An error the authorization endpoint sends back to the app, once the app and its redirect URI are
 * known to be real (RFC 6749 §4.1.2.1): before that, nothing is redirected anywhere.
 */
class RedirectedError extends Error {
  constructor(
    readonly code: AuthorizationErrorCode,
    readonly description: string,
  ) {
    super(description);
  }
}

oauthServer.get(AUTHORIZE, async (c) => {
  const services = c.get("services");
  const { config } = services;
  const params = singleParams(new URL(c.req.url).searchParams);
  const clientId = required(params, "client_id");
  const client = await getLiveClient(services.db, clientId);
  if (!client) throw new OAuthError("invalid_request", "Unknown client_id.");
  const redirectUri = required(params, "redirect_uri");
  if (!client.redirectUris.includes(redirectUri)) throw new OAuthError("invalid_request", "redirect_uri is not one the client registered (they are compared exactly).");
  const state = params.get("state");
  if (state !== null && state.length > MAX_STATE_LENGTH) throw new OAuthError("invalid_request", `state must be at most ${MAX_STATE_LENGTH} characters.`);
  const back = { redirectUri, state, issuer: issuerOf(c) };
  try {
    if (params.get("response_type") !== RESPONSE_TYPE) throw new RedirectedError("unsupported_response_type", `response_type must be "${RESPONSE_TYPE}".`);
    const challenge = params.get("code_challenge");
    if (challenge === null) throw new RedirectedError("invalid_request", "code_challenge is required: keygate requires PKCE.");
    if (params.get("code_challenge_method") !== PKCE_METHOD) throw new RedirectedError("invalid_request", "code_challenge_method must be S256.");
    if (!CODE_CHALLENGE.test(challenge)) throw new RedirectedError("invalid_request", "code_challenge must be the base64url SHA-256 of the code verifier (43 characters).");
    const scope = params.get("scope");
    const scopes = scope === null ? client.scopes : scopeList(scope);
    const excess = scopesBeyond(scopes, client.scopes);
    if (excess.length > 0) throw new RedirectedError("invalid_scope", `The app may not be granted ${excess.join(", ")}.`);
    if (client.tenantId !== null && (await getTenant(services.db, client.tenantId))?.status !== "active") {
      throw new RedirectedError("unauthorized_client", "The app's tenant is suspended.");
    }
    if (!config.oauth.consentUrl) throw new RedirectedError("server_error", "No consent page is configured (OAUTH_CONSENT_URL).");
    const request = await signRequest(config, { issuer: back.issuer, clientId: client.id, clientName: client.name, redirectUri, scopes, state, codeChallenge: challenge }, services.clock.now());
    const consent = new URL(config.oauth.consentUrl);
    consent.searchParams.set("request", request);
    return c.redirect(consent.toString(), 302);
  } catch (error) {
    if (!(error instanceof RedirectedError)) throw error;
    return c.redirect(redirectBack(back, { error: error.code, error_description: error.description }), 302);
  }
});

/**
 * Runs `act` for the client that authenticates with `params` at the token or revocation endpoint.
 * A wrong secret, code or refresh token counts as a failed attempt of the caller, as a wrong key does.
 */
function asClient<T>(c: Context<OAuthEnv>, params: OAuthParams, act: (client: OAuthClient) => Promise<T>): Promise<T> {
  const services = c.get("services");
  return services.throttle.guarded({ kind: "credential", ip: clientIp(c.req.raw.headers) }, async () => act(await authenticateClient(services, c.req.raw.headers, params)));
}

const TOKEN_GRANTS: Record<GrantType, (request: TokenRequest) => Promise<TokenResponse>> = {
  authorization_code: exchangeCode,
  refresh_token: refreshTokens,
  client_credentials: clientCredentials,
};

oauthServer.post(TOKEN, async (c) => {
  const services = c.get("services");
  const params = await formParams(c.req.raw);
  const grantType = required(params, "grant_type");
  if (!isGrantType(grantType)) throw new OAuthError("unsupported_grant_type", `grant_type must be one of ${GRANT_TYPES.join(", ")}.`);
  const response = await asClient(c, params, async (client) => {
    // Before the grant reads its code, refresh token or scope: a refused grant type spends and stores nothing.
    if (!client.grantTypes.includes(grantType)) throw new OAuthError("unauthorized_client", `The client is not registered for ${grantType}.`);
    return TOKEN_GRANTS[grantType]({ services, client, params, requestId: c.get("requestId") });
  });
  return c.json(response, 200, { pragma: "no-cache" });
});

/**
 * RFC 7009: revoking an access or refresh token revokes its whole grant (the RFC lets a server
 * revoke related tokens), so every token of it is refused on its very next use without any
 * per-token state in the grant's object. An unknown token is answered 200, as the RFC asks.
 */
oauthServer.post(REVOKE, async (c) => {
  const services = c.get("services");
  const params = await formParams(c.req.raw);
  const token = required(params, "token");
  await asClient(c, params, async (client) => {
    const { keyPrefix } = services.config;
    if (!isWellFormedToken(token, keyPrefix, "access") && !isWellFormedToken(token, keyPrefix, "refresh")) return;
    const stored = await getToken(services.db, await hashKey(token));
    if (!stored) return;
    if (stored.clientId !== client.id) throw new OAuthError("invalid_grant", "The token was issued to another client.");
    await endGrant(services, appActor(client.id, c.get("requestId")), stored.grant, "token_revoked");
  });
  return c.body(null, 200);
});

/**
 * RFC 7591, when OAUTH_DYNAMIC_REGISTRATION=true: an app registers itself, as MCP clients do. It
 * belongs to no tenant (so it has no client_credentials), may ask only for the scopes the metadata
 * offers, and gets the default rate limit per grant. Off, the endpoint does not exist (404).
 */
oauthServer.post(REGISTER, async (c) => {
  const services = c.get("services");
  const { config } = services;
  if (!config.oauth.dynamicRegistration) {
    // No such route, as any other of keygate's would say: keygate's envelope, not RFC 6749's.
    return errorResponse(new ApiError("not_found", "Dynamic client registration is turned off here (OAUTH_DYNAMIC_REGISTRATION)."), c.get("requestId"));
  }
  let body: unknown;
  try {
    body = await c.req.json();
  } catch {
    throw new OAuthError("invalid_client_metadata", "The body must be a JSON object.");
  }
  const input = readRegistration(body);
  const actor = { type: "client" as const, id: storedAddress(config, c.req.raw.headers) ?? "unknown", requestId: c.get("requestId") };
  return c.json(await registerClient(services, actor, input, scopesSupported(config)), 201);
});

/**
 * Every refusal thrown here is said in RFC 6749's form, whatever its code. keygate's own refusals on
 * the way (the failed-attempt limit, a row that is gone, storage or configuration trouble) are said
 * with the nearest OAuth code. A route that must answer in keygate's envelope answers so itself.
 */
oauthServer.onError((error, c) => {
  const oauth = error instanceof OAuthError ? error : asOAuthError(toApiError(error));
  return oauthErrorResponse(oauth, c.get("requestId"));
});

function asOAuthError(error: ApiError): OAuthError {
  if (error.code === "too_many_failed_attempts") return new OAuthError("too_many_failed_attempts", error.message, error.headers);
  if (error.status === 503) return new OAuthError("temporarily_unavailable", error.message);
  if (error.status >= 500) return new OAuthError("server_error", error.message);
  return new OAuthError("invalid_request", error.message);
}
