import { ApiError, type ErrorCode } from "../http/errors";

/** The header that carried the key, so the proxy can take it off before the origin sees it. */
export type Carrier = "x-api-key" | "authorization";

/** How the key was sent: what usage records show (never the header's value). */
export type CredentialStyle = "x-api-key" | "bearer" | "basic";

export interface Credential {
  key: string;
  carriers: Carrier[];
  style: CredentialStyle;
}

const REALM = 'realm="keygate"';
const CHALLENGE_NO_CREDENTIALS = `Bearer ${REALM}, Basic ${REALM}, charset="UTF-8"`;
const CHALLENGE_BAD_KEY = `Bearer ${REALM}, error="invalid_token", Basic ${REALM}, charset="UTF-8"`;

/**
 * A 401 for the gateway, with the RFC 6750/7617 challenge: `error="invalid_token"` only when a
 * credential was sent. `Kind` RejectedCredential for a key that counts as a failed attempt.
 */
export function unauthorized(code: ErrorCode, message: string, Kind: typeof ApiError = ApiError): ApiError {
  const challenge = code === "missing_credentials" ? CHALLENGE_NO_CREDENTIALS : CHALLENGE_BAD_KEY;
  return new Kind(code, message, null, { "www-authenticate": challenge });
}

/** Whether a string has the shape of one of our keys (format and checksum, no I/O). */
export type KeyShape = (candidate: string) => boolean;

/**
 * Finds the API key in `x-api-key`, `Authorization: Bearer` or `Authorization: Basic` (key as
 * user name, empty password). Returns null when none is present; throws on a malformed or
 * ambiguous credential. Says nothing about whether the key is real.
 *
 * When x-api-key carries the key, an Authorization header that holds no key-shaped credential
 * (an end user's JWT, the origin's own Basic login, another scheme) is the origin's business and
 * is left alone; only a second key-shaped credential that differs is ambiguous.
 */
export function extractCredential(headers: Headers, isKeyShaped: KeyShape): Credential | null {
  const fromHeader = apiKeyHeader(headers.get("x-api-key"));
  const raw = headers.get("authorization");
  const fromAuthorization =
    fromHeader !== null ? authorizationKeyIfAny(raw, isKeyShaped) : authorizationKey(raw);
  if (fromHeader !== null && fromAuthorization !== null) {
    if (fromHeader !== fromAuthorization) {
      throw new ApiError("ambiguous_credentials", "The request carries two different API keys; send exactly one.");
    }
    return { key: fromHeader, carriers: ["x-api-key", "authorization"], style: "x-api-key" };
  }
  if (fromHeader !== null) {
    // `Basic base64(KEY:secret)` or `Bearer KEY junk` is not key-shaped, yet it holds the key.
    return { key: fromHeader, carriers: mentionsKey(raw, fromHeader) ? ["x-api-key", "authorization"] : ["x-api-key"], style: "x-api-key" };
  }
  if (fromAuthorization !== null) {
    return { key: fromAuthorization, carriers: ["authorization"], style: splitAuthorization(raw!).scheme === "basic" ? "basic" : "bearer" };
  }
  return null;
}

/**
 * Where no key is checked (preflights, public paths): an Authorization holding something
 * key-shaped, so a key sent there anyway is not handed to the origin. (x-api-key never reaches it.)
 */
export function keyCarriers(headers: Headers, isKeyShaped: KeyShape): Carrier[] {
  return authorizationKeyIfAny(headers.get("authorization"), isKeyShaped) !== null ? ["authorization"] : [];
}

function mentionsKey(authorization: string | null, key: string): boolean {
  if (!authorization) return false;
  if (authorization.includes(key)) return true;
  const { scheme, rest } = splitAuthorization(authorization);
  if (scheme !== "basic") return false;
  try {
    return atob(rest).includes(key);
  } catch {
    return false;
  }
}

/** Repeated `x-api-key` headers arrive joined by ", "; the same key twice is harmless. */
function apiKeyHeader(raw: string | null): string | null {
  if (raw === null) return null;
  const values = raw.split(",").map((v) => v.trim()).filter(Boolean);
  if (values.length === 0) return null;
  const first = values[0]!;
  if (values.some((v) => v !== first)) {
    throw new ApiError("ambiguous_credentials", "The request carries two different API keys; send exactly one.");
  }
  return first;
}

/** The only place the key can be: every way of getting Authorization wrong is refused. */
function authorizationKey(raw: string | null): string | null {
  if (raw === null || raw.trim() === "") return null;
  const { scheme, rest } = splitAuthorization(raw);
  if (scheme === "bearer") {
    if (!rest) throw unauthorized("missing_credentials", "Authorization: Bearer carries no API key.");
    return rest;
  }
  if (scheme === "basic") return basicUser(rest);
  throw unauthorized(
    "missing_credentials",
    "Unsupported Authorization scheme: send the API key in x-api-key, as a Bearer token, or as the Basic user name.",
  );
}

/** Beside a key in x-api-key: a key-shaped credential here, or null when Authorization is the origin's. */
function authorizationKeyIfAny(raw: string | null, isKeyShaped: KeyShape): string | null {
  if (raw === null || raw.trim() === "") return null;
  let candidate: string | null;
  try {
    candidate = authorizationKey(raw);
  } catch {
    return null;
  }
  return candidate !== null && isKeyShaped(candidate) ? candidate : null;
}

function splitAuthorization(raw: string): { scheme: string; rest: string } {
  const value = raw.trim();
  const space = value.indexOf(" ");
  return {
    scheme: (space === -1 ? value : value.slice(0, space)).toLowerCase(),
    rest: space === -1 ? "" : value.slice(space + 1).trim(),
  };
}

function basicUser(encoded: string): string {
  if (!encoded) throw unauthorized("missing_credentials", "Authorization: Basic carries no credentials.");
  let decoded: string;
  try {
    decoded = atob(encoded);
  } catch {
    throw unauthorized("invalid_key", "Authorization: Basic is not valid base64.");
  }
  const colon = decoded.indexOf(":");
  if (colon === -1) throw unauthorized("invalid_key", 'Authorization: Basic must be base64("KEY:").');
  if (colon !== decoded.length - 1) {
    throw unauthorized("invalid_key", "Authorization: Basic takes the API key as the user name and an empty password.");
  }
  const user = decoded.slice(0, colon);
  if (!user) throw unauthorized("missing_credentials", "Authorization: Basic carries no API key.");
  return user;
}
