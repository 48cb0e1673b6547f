import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from "jose";
import type { SsoConfig } from "../config";
import { s256Challenge } from "../keys/base64url";
import { hashKey } from "../keys/hash";
import { randomBase62 } from "../keys/random";
import type { Services } from "../services";
import { isLoopbackHost } from "../settings";
import { storeChallenge, takeChallenge } from "../store/challenge-repo";

/**
 * Single sign-on with an OpenID Connect provider (Google, Microsoft Entra, Okta, Auth0, Keycloak…):
 * discovery, the authorization code flow with PKCE (S256), `state` bound to the browser that
 * started it (a cookie only that browser holds) and spent once, a `nonce` in the ID token, and
 * the ID token's signature checked against the provider's published keys (cached; fetched again
 * when a token names a key not seen yet) with `iss`, `aud`, `azp`, `exp` and `nonce` checked, and
 * only a verified email accepted. ID tokens reach keygate only from the provider's token endpoint,
 * never from the browser.
 */

/** How long a started sign-in may take at the provider. */
export const SSO_STATE_TTL_MS = 10 * 60_000;
/** How long a fetched discovery document is used. */
const DISCOVERY_TTL_MS = 60 * 60_000;
/** Signature algorithms accepted for ID tokens: public-key ones only (never the client secret as a key). */
const ID_TOKEN_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"];
const SCOPES = "openid email profile";

/** Why a single sign-on did not sign anyone in; the console says each in words (never the provider's text). */
export type SsoFailure =
  | "provider_unavailable" // discovery, keys or the token endpoint could not be reached or read
  | "state" // no such sign-in started in this browser, or it was used or expired
  | "provider_refused" // the provider answered the sign-in with an error (cancelled, denied)
  | "code" // the provider refused the code (used before, expired, not ours)
  | "token" // the ID token's signature, issuer, audience, expiry or nonce does not hold
  | "email_unverified" // no email, or the provider does not say it is verified
  | "not_allowed"; // an unknown email outside OIDC_ALLOWED_DOMAINS, or no OIDC_DEFAULT_ROLE

export class SsoRefused extends Error {
  constructor(
    readonly reason: SsoFailure,
    /** The email the provider vouched for, once known. */
    readonly email: string | null = null,
  ) {
    super(`single sign-on refused: ${reason}`);
  }
}

interface Discovery {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  jwks_uri: string;
  id_token_signing_alg_values_supported?: string[];
  token_endpoint_auth_methods_supported?: string[];
}

/** Per isolate: discovery documents and key sets, by issuer and by keys URL. */
const discoveries = new Map<string, { document: Discovery; until: number }>();
const keySets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

function secureEndpoint(value: unknown): value is string {
  if (typeof value !== "string") return false;
  try {
    const url = new URL(value);
    return url.protocol === "https:" || (url.protocol === "http:" && isLoopbackHost(url.hostname));
  } catch {
    return false;
  }
}

/** The provider's discovery document; its `issuer` must be OIDC_ISSUER exactly (no mix-up with another provider). */
async function discover(services: Services, sso: SsoConfig): Promise<Discovery> {
  const now = services.clock.now();
  const cached = discoveries.get(sso.issuer);
  if (cached && cached.until > now) return cached.document;
  let document: Discovery;
  try {
    const res = await fetch(`${sso.issuer.replace(/\/$/, "")}/.well-known/openid-configuration`, { headers: { accept: "application/json" }, redirect: "manual" });
    if (!res.ok) throw new Error(`discovery answered ${res.status}`);
    document = (await res.json()) as Discovery;
  } catch (error) {
    console.error("keygate: single sign-on discovery failed", error);
    throw new SsoRefused("provider_unavailable");
  }
  if (document.issuer !== sso.issuer || ![document.authorization_endpoint, document.token_endpoint, document.jwks_uri].every(secureEndpoint)) {
    console.error("keygate: the provider's discovery document does not match OIDC_ISSUER or names an insecure endpoint");
    throw new SsoRefused("provider_unavailable");
  }
  discoveries.set(sso.issuer, { document, until: now + DISCOVERY_TTL_MS });
  return document;
}

function keySet(jwksUri: string): ReturnType<typeof createRemoteJWKSet> {
  let keys = keySets.get(jwksUri);
  if (!keys) {
    // A token naming an unknown key fetches the set again once (the provider rotated its keys). ID
    // tokens come only from the token endpoint after a valid code, so this cannot be driven from outside.
    keys = createRemoteJWKSet(new URL(jwksUri), { cooldownDuration: 0, cacheMaxAge: 10 * 60_000 });
    keySets.set(jwksUri, keys);
  }
  return keys;
}

interface PendingSso {
  nonce: string;
  verifier: string;
  binding: string;
  returnTo: string;
  redirectUri: string;
}

/**
 * Starts a sign-in: the provider's authorization URL to send the browser to, and the secret the
 * browser keeps in a cookie (`binding`) so that only it can finish this sign-in.
 */
export async function beginSso(services: Services, sso: SsoConfig, redirectUri: string, returnTo: string): Promise<{ location: string; binding: string }> {
  const discovery = await discover(services, sso);
  const state = randomBase62(43);
  const nonce = randomBase62(43);
  const verifier = randomBase62(64);
  const binding = randomBase62(43);
  const now = services.clock.now();
  const pending: PendingSso = { nonce, verifier, binding: await hashKey(binding), returnTo, redirectUri };
  await storeChallenge(services.db, { id: await hashKey(state), kind: "sso", admin_id: null, data: JSON.stringify(pending), expires_at: now + SSO_STATE_TTL_MS }, now);
  const url = new URL(discovery.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: sso.clientId,
    redirect_uri: redirectUri,
    scope: SCOPES,
    state,
    nonce,
    code_challenge: await s256Challenge(verifier),
    code_challenge_method: "S256",
  }).toString();
  return { location: url.toString(), binding };
}

/** What the provider vouched for. */
export interface SsoIdentity {
  email: string;
  /** The provider's `amr` claim (how the person authenticated there), when it sends one. */
  amr: string[];
  returnTo: string;
}

/** The callback's query, as the provider sent it. */
export interface SsoCallback {
  state?: string;
  code?: string;
  error?: string;
  /** RFC 9207's `iss`, which providers that send it put beside the code. */
  iss?: string;
}

/**
 * Finishes a sign-in: the state is spent (once) and must belong to this browser; the code is
 * exchanged with the PKCE verifier; the ID token is verified. Throws SsoRefused with the reason.
 */
export async function finishSso(services: Services, sso: SsoConfig, callback: SsoCallback, binding: string | undefined): Promise<SsoIdentity> {
  if (!callback.state) throw new SsoRefused("state");
  const row = await takeChallenge(services.db, await hashKey(callback.state), "sso", services.clock.now());
  if (!row) throw new SsoRefused("state");
  const pending = JSON.parse(row.data) as PendingSso;
  if (!binding || (await hashKey(binding)) !== pending.binding) throw new SsoRefused("state");
  if (callback.error) throw new SsoRefused("provider_refused");
  if (!callback.code || (callback.iss !== undefined && callback.iss !== sso.issuer)) throw new SsoRefused("code");
  const discovery = await discover(services, sso);
  const idToken = await exchangeCode(sso, discovery, callback.code, pending);
  const payload = await verifyIdToken(services, sso, discovery, idToken, pending.nonce);
  const email = typeof payload.email === "string" ? payload.email.trim().toLowerCase() : "";
  if (!email || payload.email_verified !== true) throw new SsoRefused("email_unverified", email || null);
  const amr = Array.isArray(payload.amr) ? payload.amr.filter((value): value is string => typeof value === "string") : [];
  return { email, amr, returnTo: pending.returnTo };
}

async function exchangeCode(sso: SsoConfig, discovery: Discovery, code: string, pending: PendingSso): Promise<string> {
  const form = new URLSearchParams({ grant_type: "authorization_code", code, redirect_uri: pending.redirectUri, code_verifier: pending.verifier });
  const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded", accept: "application/json" };
  const methods = discovery.token_endpoint_auth_methods_supported ?? ["client_secret_basic"];
  if (methods.includes("client_secret_basic") || !methods.includes("client_secret_post")) {
    // RFC 6749 §2.3.1: each part form-encoded before base64.
    const part = (value: string) => encodeURIComponent(value).replace(/%20/g, "+");
    headers.authorization = `Basic ${btoa(`${part(sso.clientId)}:${part(sso.clientSecret)}`)}`;
  } else {
    form.set("client_id", sso.clientId);
    form.set("client_secret", sso.clientSecret);
  }
  let res: Response;
  try {
    res = await fetch(discovery.token_endpoint, { method: "POST", headers, body: form, redirect: "manual" });
  } catch (error) {
    console.error("keygate: the provider's token endpoint could not be reached", error);
    throw new SsoRefused("provider_unavailable");
  }
  const body = (await res.json().catch(() => null)) as { id_token?: unknown } | null;
  // 4xx: the provider refused the code (used already, expired, issued to another client or verifier).
  if (res.status >= 400 && res.status < 500) throw new SsoRefused("code");
  if (!res.ok || typeof body?.id_token !== "string") throw new SsoRefused("provider_unavailable");
  return body.id_token;
}

async function verifyIdToken(services: Services, sso: SsoConfig, discovery: Discovery, idToken: string, nonce: string): Promise<JWTPayload> {
  const offered = discovery.id_token_signing_alg_values_supported;
  const algorithms = offered ? ID_TOKEN_ALGORITHMS.filter((alg) => offered.includes(alg)) : ["RS256"];
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(idToken, keySet(discovery.jwks_uri), {
      issuer: sso.issuer,
      audience: sso.clientId,
      algorithms,
      currentDate: new Date(services.clock.now()),
      requiredClaims: ["sub", "exp", "iat"],
    }));
  } catch (error) {
    if (error instanceof joseErrors.JWKSTimeout || (error instanceof Error && /fetch|network/i.test(error.message) && !(error instanceof joseErrors.JOSEError))) {
      throw new SsoRefused("provider_unavailable");
    }
    throw new SsoRefused("token");
  }
  // OpenID Connect Core 3.1.3.7: with several audiences, the token must have been issued to us.
  if (Array.isArray(payload.aud) && payload.aud.length > 1 && payload.azp !== sso.clientId) throw new SsoRefused("token");
  if (payload.azp !== undefined && payload.azp !== sso.clientId) throw new SsoRefused("token");
  if (typeof payload.nonce !== "string" || payload.nonce !== nonce) throw new SsoRefused("token");
  return payload;
}

/** Whether the provider says the person gave more than one factor (RFC 8176 `mfa`). */
export function providerAssertsMfa(amr: string[]): boolean {
  return amr.includes("mfa");
}
