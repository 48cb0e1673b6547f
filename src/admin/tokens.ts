import { jwtVerify, SignJWT } from "jose";
import type { Config } from "../config";
import { prefixedId } from "../keys/random";
import { isAdminRole, type AdminRole } from "../authority/roles";
import { ALGORITHM, signingKey } from "../identity/signing-key";
import { invalidToken } from "./credentials";

/**
 * Admin access tokens: HS256 JWTs signed with JWT_SECRET. The algorithm is pinned on both sides
 * (RFC 8725), so `alg: none`, another HMAC and public-key algorithms are refused before any key is
 * used; issuer, audience and type are pinned too, so no other JWT signed with the same secret
 * passes as an admin token.
 */
export const TOKEN_TTL_SECONDS = 3600;
const ISSUER = "keygate";
const AUDIENCE = "keygate-admin";
const TYPE = "JWT";

export interface TokenClaims {
  sub: string;
  role: AdminRole;
  jti: string;
  iat: number;
  exp: number;
  /** The admin's session epoch when the token was issued; a password change moves it on. */
  epoch: number;
  /** When the admin last gave their password (Unix seconds); refresh carries it unchanged. */
  auth_time: number;
  /** The console session the token belongs to (admin_sessions.id); signing out ends its tokens. */
  sid?: string;
}

/** Who a token is for, and of which sign-in. */
export interface TokenSubject {
  id: string;
  role: AdminRole;
  session_epoch: number;
}

/** Fails fast (500 configuration_error) before any password is checked or sign-in recorded. */
export function assertTokensConfigured(config: Config): void {
  signingKey(config);
}

/**
 * `authTime`: when the admin signed in (the session's start, or the old token's for a refresh);
 * `now`: keygate's clock, which sets the token's iat and exp.
 */
export function issueToken(config: Config, admin: TokenSubject, authTime: number, now: number, sessionId?: string): Promise<string> {
  const issuedAt = Math.floor(now / 1000);
  return new SignJWT({ role: admin.role, epoch: admin.session_epoch, auth_time: authTime, ...(sessionId ? { sid: sessionId } : {}) })
    .setProtectedHeader({ alg: ALGORITHM, typ: TYPE })
    .setSubject(admin.id)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setJti(prefixedId("jti"))
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + TOKEN_TTL_SECONDS)
    .sign(signingKey(config));
}

/**
 * The claims of a valid token, or 401 invalid_token: the caller learns nothing more specific.
 * Expiry is judged at `now` (keygate's clock), never at jose's own reading of the time.
 */
export async function verifyToken(config: Config, token: string, now: number): Promise<TokenClaims> {
  const key = signingKey(config);
  try {
    const { payload } = await jwtVerify(token, key, {
      currentDate: new Date(now),
      algorithms: [ALGORITHM],
      issuer: ISSUER,
      audience: AUDIENCE,
      typ: TYPE,
      requiredClaims: ["sub", "jti", "iat", "exp", "epoch", "auth_time"],
    });
    const { sub, jti, iat, exp, role, epoch, auth_time, sid } = payload;
    if (
      typeof sub !== "string" ||
      typeof jti !== "string" ||
      typeof iat !== "number" ||
      typeof exp !== "number" ||
      !isAdminRole(role) ||
      !Number.isSafeInteger(epoch) ||
      !Number.isSafeInteger(auth_time) ||
      (sid !== undefined && typeof sid !== "string")
    ) {
      throw new Error("malformed claims");
    }
    return { sub, role, jti, iat, exp, epoch: epoch as number, auth_time: auth_time as number, ...(sid === undefined ? {} : { sid }) };
  } catch {
    throw invalidToken();
  }
}
