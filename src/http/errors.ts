/**
 * The one error vocabulary of keygate, gateway and admin alike. Codes are stable: clients branch
 * on them, so a code is never renamed, only added.
 */
export const ERROR_STATUS = {
  missing_credentials: 401,
  invalid_key: 401,
  expired_key: 401,
  revoked_key: 401,
  tenant_inactive: 401,
  invalid_token: 401,
  expired_token: 401,
  revoked_token: 401,
  invalid_credentials: 401,
  mfa_required: 401,
  reauthentication_required: 401,
  insufficient_permissions: 403,
  second_factor_required: 403,
  password_signin_disabled: 403,
  ambiguous_credentials: 400,
  invalid_request: 400,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  rate_limit_exceeded: 429,
  usage_exceeded: 429,
  quota_exceeded: 429,
  too_many_failed_attempts: 429,
  internal_error: 500,
  configuration_error: 500,
  origin_unreachable: 502,
  auth_unavailable: 503,
  origin_timeout: 504,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;
/** Every code of the table, in its order. */
export const ERROR_CODES = Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]];

export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.status = ERROR_STATUS[code];
  }
}

/**
 * A credential that is wrong: an unknown, revoked or expired key, an admin token that is not
 * valid, a cookie that names no session. Answered like any ApiError; inside a throttled check
 * (guards/throttle.ts) it is also counted, once, as a failed attempt of the client. Anything else a
 * check throws (a missing credential, a session that ended, a scope it lacks) is not a guess.
 */
export class RejectedCredential extends ApiError {}

/** `{"success": false, "error": {code, message, details}, "requestId"}`, always JSON. */
export function errorResponse(error: ApiError, requestId: string, extraHeaders?: HeadersInit): Response {
  const headers = new Headers(extraHeaders);
  for (const [name, value] of Object.entries(error.headers)) headers.set(name, value);
  headers.set("content-type", "application/json; charset=utf-8");
  headers.set("cache-control", "no-store");
  headers.set("x-request-id", requestId);
  const body = JSON.stringify({
    success: false,
    error: { code: error.code, message: error.message, details: error.details },
    requestId,
  });
  return new Response(body, { status: error.status, headers });
}

/** D1, KV or a key's object could not be asked: keygate fails closed rather than guess. */
export function authUnavailable(): ApiError {
  return new ApiError("auth_unavailable", "Authentication is temporarily unavailable; try again shortly.");
}

/**
 * The OAuth endpoints' own vocabulary (RFC 6749 §5.2, RFC 7009 §2.2.1, RFC 7591 §3.2.2): their
 * errors are `{"error": …, "error_description": …}`, as every OAuth client library expects, not
 * keygate's envelope. `too_many_failed_attempts` is keygate's extension for the failed-attempt limit.
 */
export const OAUTH_ERROR_STATUS = {
  invalid_request: 400,
  invalid_client: 401,
  invalid_grant: 400,
  unauthorized_client: 400,
  unsupported_grant_type: 400,
  invalid_scope: 400,
  unsupported_token_type: 400,
  invalid_redirect_uri: 400,
  invalid_client_metadata: 400,
  too_many_failed_attempts: 429,
  server_error: 500,
  temporarily_unavailable: 503,
} as const;

export type OAuthErrorCode = keyof typeof OAUTH_ERROR_STATUS;

/** What the authorization endpoint sends back to the app's redirect URI (RFC 6749 §4.1.2.1), besides the codes above. */
export type AuthorizationErrorCode = "invalid_request" | "unauthorized_client" | "access_denied" | "unsupported_response_type" | "invalid_scope" | "server_error";

/**
 * An OAuth endpoint's refusal. A wrong client secret, code or refresh token (invalid_client,
 * invalid_grant) is a credential that does not work: inside a throttled check it counts, once, as
 * a failed attempt of the client, as a wrong key does.
 */
export class OAuthError extends Error {
  readonly status: number;
  readonly countsAsFailedAttempt: boolean;
  constructor(
    readonly code: OAuthErrorCode,
    readonly description: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(description);
    this.status = OAUTH_ERROR_STATUS[code];
    this.countsAsFailedAttempt = code === "invalid_client" || code === "invalid_grant";
  }
}

/** `{"error", "error_description"}`, never cached. */
export function oauthErrorResponse(error: OAuthError, requestId: string): Response {
  const headers = new Headers(error.headers);
  headers.set("content-type", "application/json; charset=utf-8");
  headers.set("cache-control", "no-store");
  headers.set("x-request-id", requestId);
  return new Response(JSON.stringify({ error: error.code, error_description: error.description }), { status: error.status, headers });
}
