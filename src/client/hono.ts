/**
 * `keygate/hono`: keygate's key check inside your own Hono app, through a service binding to
 * keygate's `Keygate` entrypoint; no proxy in front of your API, the same exact windows and
 * next-request revocation. Runs in any Worker: it imports nothing from keygate's runtime.
 *
 *   import { keygate, type KeygateVariables } from "keygate/hono";
 *   const app = new Hono<{ Bindings: Env; Variables: KeygateVariables }>();
 *   app.use("/api/*", keygate({ binding: (c) => c.env.KEYGATE }));
 *   app.get("/api/me", (c) => c.json(c.get("keygate")));
 */
import type { Context, MiddlewareHandler } from "hono";
import { isTokenCode, verdictOf, type Refusal } from "../authority/verdicts";
import { extractCredential } from "../credentials/extract";
import { missingCredentials, refusalError } from "../gateway/refusals";
import type { VerifyResult } from "../gateway/verify-result";
import { ApiError, authUnavailable, errorResponse } from "../http/errors";
import { rateLimitHeaders } from "../http/ratelimit-headers";
import { prefixedId } from "../keys/random";

export type { VerifyResult };

/** What the binding to keygate's `Keygate` entrypoint offers. */
export interface KeygateBinding {
  verify(input: { key: string; method?: string; path?: string; scopes?: string[] }): Promise<VerifyResult>;
}

/** Who is calling, on `c.get("keygate")` once a key (or an OAuth access token) was admitted. */
export interface KeygateIdentity {
  /** The key's id, or for an access token its grant's (`grt_…`). */
  keyId: string;
  tenantId: string;
  environment: "live" | "test";
  scopes: string[];
  /** For an OAuth access token: the app it was issued to. */
  clientId?: string;
  /** For an access token of a user's grant: the user's subject id (null for client_credentials). */
  subject?: string | null;
}

export interface KeygateVariables {
  keygate: KeygateIdentity;
}

export interface KeygateOptions<E extends { Variables: KeygateVariables }> {
  /** The service binding to keygate, e.g. `(c) => c.env.KEYGATE`. */
  binding: (c: Context<E>) => KeygateBinding;
  /**
   * Scopes this route needs, besides those keygate's ROUTE_SCOPES give the request's method and
   * path (which always apply, read as the proxy reads them).
   */
  scopes?: readonly string[] | ((c: Context<E>) => readonly string[]);
}

// Any key or access token of keygate's format, whatever its prefix: only used to tell whether an
// Authorization header next to x-api-key holds a second one. keygate itself checks the checksum.
const KEY_SHAPE = /^[a-z][a-z0-9]{0,15}_(live|test|at)_[0-9A-Za-z]{28,}$/;

/**
 * Reads the key (or OAuth access token) as the gateway does (x-api-key, Bearer, or Basic with the key as user name), asks
 * keygate, and either puts the caller's identity on the context or answers as the gateway would:
 * the same `{success: false, error: {code, message, details}, requestId}` envelope, status,
 * `WWW-Authenticate` and rate-limit headers. Admitted responses carry the rate-limit headers too.
 * If keygate cannot be asked, 503 auth_unavailable: a key check that fails never lets a request in.
 */
export function keygate<E extends { Variables: KeygateVariables }>(options: KeygateOptions<E>): MiddlewareHandler<E> {
  return async (c, next) => {
    const requestId = prefixedId("req");
    let result: VerifyResult;
    try {
      const credential = extractCredential(c.req.raw.headers, (candidate) => KEY_SHAPE.test(candidate));
      if (!credential) throw missingCredentials();
      const extra = typeof options.scopes === "function" ? options.scopes(c) : options.scopes;
      result = await options.binding(c).verify({
        key: credential.key,
        method: c.req.method,
        path: new URL(c.req.url).pathname,
        ...(extra && extra.length > 0 ? { scopes: [...extra] } : {}),
      });
    } catch (error) {
      if (error instanceof ApiError) return errorResponse(error, requestId);
      console.error("keygate: verification failed", error);
      return errorResponse(authUnavailable(), requestId);
    }
    const headers = rateLimitHeaders(result.limits ?? [], result.ratelimit, Date.now(), result.retry_after === null || result.retry_after === undefined ? null : result.retry_after * 1000);
    if (result.code === "invalid_request") {
      // Only a key keygate's format cannot hold gets here (over 256 characters, say): it is not a valid key.
      return errorResponse(refusalError("invalid", [], {}), requestId);
    }
    const kind = result.client_id !== null || isTokenCode(result.code) ? "access_token" : "key";
    if (!result.valid) return errorResponse(refusalError(verdictOf(result.code) as Refusal, result.missing_scopes, headers, kind), requestId);
    const delegation = result.client_id === null ? {} : { clientId: result.client_id, subject: result.subject };
    c.set("keygate", { keyId: result.key_id!, tenantId: result.tenant_id!, environment: result.environment!, scopes: result.scopes, ...delegation });
    await next();
    for (const [name, value] of Object.entries(headers)) c.res.headers.set(name, value);
  };
}
