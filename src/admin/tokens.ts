import { jwtVerify, SignJWT } from "jose";
import type { Config } from "../config";
import { ApiError } from "../http/errors";
import { prefixedId } from "../keys/random";
import type { AdminRole } from "../store/admin-repo";
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
/** HS256 wants a key as long as its output (RFC 7518 §3.2). */
const MIN_SECRET_LENGTH = 32;

export interface TokenClaims {
  sub: string;
  role: AdminRole;
  jti: string;
  iat: number;
  exp: number;
}

const encoder = new TextEncoder();

function signingKey(config: Config): Uint8Array {
  const secret = config.jwtSecret;
  if (!secret || secret.length < MIN_SECRET_LENGTH) {
    throw new ApiError("configuration_error", `keygate is misconfigured: JWT_SECRET must be set, at least ${MIN_SECRET_LENGTH} characters.`);
  }
  return encoder.encode(secret);
}

/** Fails fast (500 configuration_error) before any password is checked or sign-in recorded. */
export function assertTokensConfigured(config: Config): void {
  signingKey(config);
}

export function issueToken(config: Config, admin: { id: string; role: AdminRole }): Promise<string> {
  return new SignJWT({ role: admin.role })
    .setProtectedHeader({ alg: ALGORITHM, typ: TYPE })
    .setSubject(admin.id)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setJti(prefixedId("jti"))
    .setIssuedAt()
    .setExpirationTime(`${TOKEN_TTL_SECONDS}s`)
    .sign(signingKey(config));
}

/** The claims of a valid token, or 401 invalid_token: the caller learns nothing more specific. */
export async function verifyToken(config: Config, token: string): Promise<TokenClaims> {
  const key = signingKey(config);
  try {
    const { payload } = await jwtVerify(token, key, {
      algorithms: [ALGORITHM],
      issuer: ISSUER,
      audience: AUDIENCE,
      typ: TYPE,
      requiredClaims: ["sub", "jti", "iat", "exp"],
    });
    const { sub, jti, iat, exp, role } = payload;
    if (typeof sub !== "string" || typeof jti !== "string" || typeof iat !== "number" || typeof exp !== "number" || !isRole(role)) {
      throw new Error("malformed claims");
    }
    return { sub, role, jti, iat, exp };
  } catch {
    throw invalidToken();
  }
}

function isRole(value: unknown): value is AdminRole {
  return value === "owner" || value === "admin" || value === "viewer";
}
