import { jwtVerify, SignJWT } from "jose";
import type { Clock } from "../clock";
import type { Config } from "../config";
import { ApiError } from "../http/errors";
import { prefixedId } from "../keys/random";
import { isAdminRole, type AdminRole } from "../authority/roles";
import { MIN_SECRET_LENGTH, tooShortSecret } from "../settings";
import { invalidToken } from "./credentials";

/**
 * Admin access tokens: HS256 JWTs signed with JWT_SECRET. The algorithm is pinned on both sides
 * (RFC 8725), so `alg: none`, another HMAC and public-key algorithms are refused before any key is
 * used; issuer, audience and type are pinned too, so no other JWT signed with the same secret
 * passes as an admin token.
 */
export const TOKEN_TTL_SECONDS = 3600;
const ALGORITHM = "HS256";
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

const encoder = new TextEncoder();

function signingKey(config: Config): Uint8Array {
  const secret = config.jwtSecret;
  if (!secret || tooShortSecret(secret)) {
    throw new ApiError("configuration_error", `keygate is misconfigured: JWT_SECRET must be set, at least ${MIN_SECRET_LENGTH} characters.`);
  }
  return encoder.encode(secret);
}

/**
 * What signing and checking a token need: the secret, and the clock its `iat` and `exp` are read
 * on (jose would otherwise read the platform's time, so a moved clock and a token's expiry would
 * disagree).
 */
export interface TokenServices {
  config: Config;
  clock: Clock;
}

/** Fails fast (500 configuration_error) before any password is checked or sign-in recorded. */
export function assertTokensConfigured(config: Config): void {
  signingKey(config);
}

/** `authTime`: when the password was given (now for a password grant, the old token's for a refresh). */
export function issueToken({ config, clock }: TokenServices, admin: TokenSubject, authTime: number, sessionId?: string): Promise<string> {
  const issuedAt = Math.floor(clock.now() / 1000);
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

/** The claims of a valid token, or 401 invalid_token: the caller learns nothing more specific. */
export async function verifyToken({ config, clock }: TokenServices, token: string): Promise<TokenClaims> {
  const key = signingKey(config);
  try {
    const { payload } = await jwtVerify(token, key, {
      algorithms: [ALGORITHM],
      issuer: ISSUER,
      audience: AUDIENCE,
      typ: TYPE,
      currentDate: new Date(clock.now()),
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
