import { ApiError } from "../http/errors";

const CHALLENGE = 'Bearer realm="keygate-admin"';

/** The bearer token of an admin call, or a 401 with the RFC 6750 challenge. */
export function bearerToken(header: string | undefined): string {
  const match = header?.match(/^Bearer[ ]+(\S+)\s*$/i);
  if (!header || !header.trim()) {
    throw new ApiError("missing_credentials", "Admin calls need Authorization: Bearer <token>.", null, { "www-authenticate": CHALLENGE });
  }
  if (!match) throw invalidToken();
  return match[1]!;
}

export function invalidToken(message = "The admin token is not valid."): ApiError {
  return new ApiError("invalid_token", message, null, {
    "www-authenticate": `${CHALLENGE}, error="invalid_token"`,
  });
}

/** Three base64url parts: a JWT (an unsigned one has an empty third part, and is refused later). */
export function looksLikeJwt(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token);
}
