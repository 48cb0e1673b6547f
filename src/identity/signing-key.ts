import { misconfigured, type Config } from "../config";
import { MIN_SECRET_LENGTH, tooShortSecret } from "../settings";

const encoder = new TextEncoder();

/** What signs and verifies with JWT_SECRET: HMAC SHA-256 only, pinned on both sides (RFC 8725). */
export const ALGORITHM = "HS256";

/**
 * JWT_SECRET, which signs admin tokens and the OAuth consent page's requests (each with its own
 * audience and type). Without a long enough one nothing is signed: 500 configuration_error.
 */
export function signingKey(config: Config): Uint8Array {
  const secret = config.jwtSecret;
  if (!secret || tooShortSecret(secret)) {
    throw misconfigured("JWT_SECRET", `must be set, at least ${MIN_SECRET_LENGTH} characters`);
  }
  return encoder.encode(secret);
}
