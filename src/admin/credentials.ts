import { ApiError, RejectedCredential } from "../http/errors";
import { signInAgain, type IdleLimit, type SessionEnd } from "../identity/session-policy";

const CHALLENGE = 'Bearer realm="keygate-admin"';
const INVALID_TOKEN = { "www-authenticate": `${CHALLENGE}, error="invalid_token"` };

/** The bearer token of an admin call, or a 401 with the RFC 6750 challenge. */
export function bearerToken(header: string | undefined): string {
  const match = header?.match(/^Bearer[ ]+(\S+)\s*$/i);
  if (!header || !header.trim()) {
    throw new ApiError("missing_credentials", "Admin calls need Authorization: Bearer <token>.", null, { "www-authenticate": CHALLENGE });
  }
  if (!match) throw invalidToken();
  return match[1]!;
}

/** A token (or session cookie) that is not valid: counted against the client when the check is throttled. */
export function invalidToken(message = "The admin token is not valid."): ApiError {
  return new RejectedCredential("invalid_token", message, null, INVALID_TOKEN);
}

/**
 * A real sign-in that has ended (session-policy.ts): the admin signs in again; no guess, so not
 * counted. `details.reason` says why, so the console can tell the admin.
 */
export function sessionEnded(end: SessionEnd, idle?: IdleLimit): ApiError {
  return new ApiError("invalid_token", signInAgain(end, idle), { reason: end }, INVALID_TOKEN);
}

/** Three base64url parts: a JWT (an unsigned one has an empty third part, and is refused later). */
export function looksLikeJwt(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token);
}
