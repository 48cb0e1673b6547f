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
  insufficient_permissions: 403,
  ambiguous_credentials: 400,
  invalid_request: 400,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  rate_limit_exceeded: 429,
  too_many_failed_attempts: 429,
  internal_error: 500,
  configuration_error: 500,
  origin_unreachable: 502,
  auth_unavailable: 503,
  origin_timeout: 504,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

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
