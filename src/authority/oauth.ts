import type { Environment, KeyPolicy, KeyRecord, QuotaRef } from "./key";
import { DEFAULT_WINDOW_NAME, type RateWindow } from "./plan";
import { SELF_SERVICE_SCOPE } from "./scopes";
import { isLoopbackHost } from "../settings";

/**
 * The rules of OAuth in keygate, in one place: what a client is, what it may be given, how a
 * redirect URI and a scope parameter are read, PKCE, and how long each credential lives. Pure, so
 * the CLI and the console share the lists.
 */

/** A public client (a browser or native app) holds no secret; a confidential one (a server) does. */
export const CLIENT_TYPES = ["public", "confidential"] as const;
export type ClientType = (typeof CLIENT_TYPES)[number];

/**
 * How a client proves who it is at the token and revocation endpoints (RFC 6749 §2.3): `none`, a
 * public client's client_id alone; a confidential client's secret in `Authorization: Basic` or in
 * the body. RFC 7591 names the type of a client that registers itself by the method it asks for.
 */
export const CLIENT_AUTH_METHODS = ["none", "client_secret_basic", "client_secret_post"] as const;
export type ClientAuthMethod = (typeof CLIENT_AUTH_METHODS)[number];
/** RFC 7591's default when a client that registers itself names no method. */
export const DEFAULT_CLIENT_AUTH_METHOD: ClientAuthMethod = "client_secret_basic";

export function clientTypeFor(method: ClientAuthMethod): ClientType {
  return method === "none" ? "public" : "confidential";
}

/** The token endpoint's grant types, in the order the metadata lists them. */
export const GRANT_TYPES = ["authorization_code", "refresh_token", "client_credentials"] as const;
export type GrantType = (typeof GRANT_TYPES)[number];

export function isGrantType(value: string): value is GrantType {
  return (GRANT_TYPES as readonly string[]).includes(value);
}

/**
 * What a client that registers itself may ask for: it belongs to no tenant, so it has no
 * client_credentials (there is no tenant of its own to act for).
 */
export const REGISTRABLE_GRANT_TYPES = ["authorization_code", "refresh_token"] as const satisfies readonly GrantType[];

/** The only response type: the code flow (OAuth 2.1 has no implicit grant). */
export const RESPONSE_TYPE = "code";

/**
 * Why a client of this type and tenant cannot register `grantTypes`, or null when it can.
 * client_credentials acts for the client's own tenant, by its secret: it needs both. A refresh
 * token only ever comes with a code's tokens: refresh_token needs authorization_code.
 */
export function grantTypesProblem(client: Pick<OAuthClient, "type" | "tenantId">, grantTypes: readonly GrantType[]): string | null {
  if (grantTypes.length === 0) return "must name at least one grant type";
  if (grantTypes.includes("client_credentials")) {
    if (client.type !== "confidential") return "client_credentials is for confidential clients";
    if (client.tenantId === null) return "client_credentials needs a tenant of the app's own to act for";
  }
  if (grantTypes.includes("refresh_token") && !grantTypes.includes("authorization_code")) return "refresh_token comes only with authorization_code";
  return null;
}

/**
 * The grant types of a client that registers none: every one it can use. The code flow with
 * refresh tokens for every client, and client_credentials for a confidential client of a tenant.
 */
export function defaultGrantTypes(client: Pick<OAuthClient, "type" | "tenantId">): GrantType[] {
  return client.type === "confidential" && client.tenantId !== null ? [...GRANT_TYPES] : ["authorization_code", "refresh_token"];
}

/** Each grant type once, in the order GRANT_TYPES lists them. */
export function grantTypeList(grantTypes: readonly GrantType[]): GrantType[] {
  return GRANT_TYPES.filter((grantType) => grantTypes.includes(grantType));
}

/** What the API shows of a grant. */
export const GRANT_STATES = ["active", "revoked"] as const;
export type GrantState = (typeof GRANT_STATES)[number];

/**
 * Why a grant ended: an admin revoked it (or the user's grants, or its client), the app revoked one
 * of its tokens (RFC 7009), a refresh token or an authorization code was used a second time (a
 * sign that it was stolen), or its client was deleted.
 */
export const GRANT_END_REASONS = ["revoked", "token_revoked", "refresh_token_reused", "code_reused", "client_deleted"] as const;
export type GrantEndReason = (typeof GRANT_END_REASONS)[number];

/** Grants reach the origin for live keys (ORIGIN_URL): an app acts on the real API. */
export const GRANT_ENVIRONMENT: Environment = "live";

/** A third-party app (camelCase here; snake_case only in SQL and on the wire, as for keys). */
export interface OAuthClient {
  id: string;
  /** The tenant that registered the app; null for an app that registered itself (RFC 7591). */
  tenantId: string | null;
  name: string;
  type: ClientType;
  redirectUris: string[];
  /** What the app may be granted. */
  scopes: string[];
  /** The grant types it registered: the token endpoint refuses it any other. */
  grantTypes: GrantType[];
  /** Each of its grants' rate limit. */
  limit: number;
  windowSeconds: number;
  secretHash: string | null;
  createdAt: number;
  updatedAt: number;
  deletedAt: number | null;
}

/**
 * What one user of one tenant let one app do (`subject`), or what a confidential app may do for
 * its own tenant (no subject: client_credentials). Counted and revoked like a key: its own
 * Durable Object, addressed by the grant's id, holds its policy.
 */
export interface Grant {
  id: string;
  tenantId: string;
  clientId: string;
  subject: string | null;
  scopes: string[];
  limit: number;
  windowSeconds: number;
  createdAt: number;
  updatedAt: number;
  revokedAt: number | null;
  revokedReason: GrantEndReason | null;
  tenantActive: boolean;
  /** The version of the tenant's status (tenants.updated_at), as for keys. */
  tenantVersion: number;
  /** The tenant's quota for the live environment, which the grant's requests spend as a key's do. */
  quota: QuotaRef | null;
}

/** A grant's one rate window: its client's rate limit. */
export function grantWindows(limit: number, windowSeconds: number): RateWindow[] {
  return [{ name: DEFAULT_WINDOW_NAME, limit, windowSeconds }];
}

/**
 * The grant's policy, as its object holds it: a grant never expires (its tokens do), counts in
 * one window (its client's rate limit), spends no credits, and spends its tenant's live quota.
 */
export function grantPolicy(grant: GrantPolicyFields): KeyPolicy {
  const { scopes, limit, windowSeconds, tenantActive, quota } = grant;
  return { status: grantState(grant), tenantActive, expiresAt: null, scopes, windows: grantWindows(limit, windowSeconds), credits: null, quota };
}

/** What of a grant its policy is made of: a grant not stored yet has them too. */
export type GrantPolicyFields = Pick<Grant, "revokedAt" | "tenantActive" | "scopes" | "limit" | "windowSeconds" | "quota">;

/** The grant as the gateway decides with it: a key's record whose id addresses the grant's object. */
export function grantRecord(grant: Grant): KeyRecord {
  return { id: grant.id, tenantId: grant.tenantId, environment: GRANT_ENVIRONMENT, ...grantPolicy(grant) };
}

export function grantState(grant: Pick<Grant, "revokedAt">): GrantState {
  return grant.revokedAt === null ? "active" : "revoked";
}

/**
 * Scopes an app is never allowed: `*` (an app is given what it names, nothing open-ended) and the
 * self-service scope (managing a tenant's keys is the tenant's own business, never an app's).
 */
export function delegationProblem(scope: string): string | null {
  if (scope === "*") return "an app is given named scopes, never *";
  if (scope === SELF_SERVICE_SCOPE) return `${SELF_SERVICE_SCOPE} is for a tenant's own keys, never an app's`;
  return null;
}

export const MAX_REDIRECT_URIS = 10;
export const MAX_REDIRECT_URI_LENGTH = 2000;

/**
 * OAuth 2.1 §2.3 and RFC 8252: an absolute URI without a fragment, served over https, or over http
 * on this machine's loopback (a native app's local listener), or a private-use scheme named after
 * a domain the app owns (`com.example.app:/callback`). Compared exactly, character for character.
 */
export function redirectUriProblem(uri: string): string | null {
  if (uri.length > MAX_REDIRECT_URI_LENGTH) return `must be at most ${MAX_REDIRECT_URI_LENGTH} characters`;
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return "must be an absolute URI";
  }
  if (uri.includes("#")) return "must not have a fragment";
  const scheme = url.protocol.slice(0, -1);
  if (scheme === "https") return url.host ? null : "must name a host";
  if (scheme === "http") return isLoopbackHost(url.hostname) ? null : "must use https (http only on 127.0.0.1, [::1] or localhost)";
  if (/^[a-z][a-z0-9+-]*(\.[a-z0-9+-]+)+$/.test(scheme)) return null;
  return "must use https, http on loopback, or an app's own scheme such as com.example.app";
}

/** RFC 6749 §3.3: a scope parameter is a space-separated list; each scope once, in the order given. */
export function scopeList(param: string): string[] {
  return [...new Set(param.split(" ").filter(Boolean))];
}

export function scopeParam(scopes: readonly string[]): string {
  return scopes.join(" ");
}

/** The scopes of `requested` that `allowed` does not hold (exact names: no `*` among an app's scopes). */
export function scopesBeyond(requested: readonly string[], allowed: readonly string[]): string[] {
  return requested.filter((scope) => !allowed.includes(scope));
}

/** PKCE (RFC 7636): S256 only, as OAuth 2.1 asks; `plain` would show the verifier to whoever sees the request. */
export const PKCE_METHOD = "S256";
/** A code verifier: 43-128 unreserved characters. */
export const CODE_VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;
/** An S256 challenge: base64url of a SHA-256, 43 characters. */
export const CODE_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;
/** The app's `state`, which keygate carries to the consent page and back. */
export const MAX_STATE_LENGTH = 1024;

/** How long an access token is accepted, unless OAUTH_ACCESS_TOKEN_TTL_SECONDS says otherwise. */
export const DEFAULT_ACCESS_TOKEN_TTL_SECONDS = 3600;
/** How long a refresh token can be exchanged, unless OAUTH_REFRESH_TOKEN_TTL_SECONDS says; each exchange gives a new one. */
export const DEFAULT_REFRESH_TOKEN_TTL_SECONDS = 30 * 86_400;
/** An authorization code: exchanged at once by the app that asked for it, or never. */
export const CODE_TTL_SECONDS = 60;
/** The signed request the consent page receives: time for a user to sign in and decide. */
export const REQUEST_TTL_SECONDS = 600;
