import { jwtVerify, SignJWT } from "jose";
import { REQUEST_TTL_SECONDS, scopeList, scopeParam } from "../authority/oauth";
import type { Config } from "../config";
import { prefixedId } from "../keys/random";
import { ALGORITHM, signingKey } from "../identity/signing-key";

/**
 * The authorization request keygate hands the consent page, signed (HS256 with JWT_SECRET) so the
 * page cannot be given a request keygate did not validate, short-lived, and completed once (its id
 * is the primary key of the row its completion writes). Its audience and type are its own, so it
 * is never taken for an admin token, nor an admin token for it. Its claims are readable (base64url
 * JSON): the page shows the app's name and the scopes it asks for from them.
 */
const AUDIENCE = "keygate-consent";
const TYPE = "kg-consent+jwt";

export interface AuthorizationRequest {
  id: string;
  /** keygate's issuer identifier (RFC 9207 `iss` in the redirect back to the app). */
  issuer: string;
  clientId: string;
  clientName: string;
  redirectUri: string;
  scopes: string[];
  state: string | null;
  codeChallenge: string;
  expiresAt: number;
}

export function signRequest(config: Config, request: Omit<AuthorizationRequest, "id" | "expiresAt">, now: number): Promise<string> {
  const issuedAt = Math.floor(now / 1000);
  return new SignJWT({
    client_id: request.clientId,
    client_name: request.clientName,
    redirect_uri: request.redirectUri,
    scope: scopeParam(request.scopes),
    ...(request.state === null ? {} : { state: request.state }),
    code_challenge: request.codeChallenge,
    code_challenge_method: "S256",
  })
    .setProtectedHeader({ alg: ALGORITHM, typ: TYPE })
    .setIssuer(request.issuer)
    .setAudience(AUDIENCE)
    .setJti(prefixedId("azr"))
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + REQUEST_TTL_SECONDS)
    .sign(signingKey(config));
}

/** The request, if `token` is one keygate signed and it has not expired; null otherwise. */
export async function readRequest(config: Config, token: string, now: number): Promise<AuthorizationRequest | null> {
  const key = signingKey(config);
  try {
    const { payload } = await jwtVerify(token, key, {
      algorithms: [ALGORITHM],
      audience: AUDIENCE,
      typ: TYPE,
      currentDate: new Date(now),
      requiredClaims: ["iss", "jti", "exp", "client_id", "redirect_uri", "scope", "code_challenge"],
    });
    const text = (value: unknown) => (typeof value === "string" ? value : null);
    const issuer = text(payload.iss);
    const id = text(payload.jti);
    const clientId = text(payload.client_id);
    const redirectUri = text(payload.redirect_uri);
    const scope = text(payload.scope);
    const codeChallenge = text(payload.code_challenge);
    if (!issuer || !id || !clientId || !redirectUri || scope === null || !codeChallenge) return null;
    return {
      id,
      issuer,
      clientId,
      clientName: text(payload.client_name) ?? clientId,
      redirectUri,
      scopes: scopeList(scope),
      state: text(payload.state),
      codeChallenge,
      expiresAt: payload.exp! * 1000,
    };
  } catch {
    return null;
  }
}
