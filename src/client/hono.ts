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
import { MAX_COST } from "../authority/plan";
import { missingScopes } from "../authority/scopes";
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
  verify(input: { key: string; method?: string; path?: string; scopes?: string[]; cost?: number }): Promise<VerifyResult>;
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
  /**
   * What the request costs in the key's credits and its tenant's quota, instead of what keygate's
   * ROUTE_COSTS give its method and path (else 1). 0 only checks the key: nothing is counted.
   */
  cost?: number | ((c: Context<E>) => number);
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
    // A cost keygate cannot take is this app's mistake, not the caller's: it fails the request
    // (the app's error handler) rather than answering as if the key were wrong.
    const cost = typeof options.cost === "function" ? options.cost(c) : options.cost;
    if (cost !== undefined && !(Number.isSafeInteger(cost) && cost >= 0 && cost <= MAX_COST)) {
      throw new RangeError(`keygate: cost must be a whole number from 0 to ${MAX_COST}, not ${cost}`);
    }
    const extra = typeof options.scopes === "function" ? options.scopes(c) : options.scopes;
    const admitted = c.get("keygate") as KeygateIdentity | undefined;
    if (admitted) {
      // An earlier keygate on this request (app.use on /api/*, then one on a route) admitted it and
      // counted it once: this one only adds its scopes, checked against what was admitted.
      if (cost !== undefined) throw new Error("keygate: this request was verified by an earlier keygate middleware, which counted it; give the cost there (a function of the request)");
      const missing = missingScopes(admitted.scopes, extra ?? []);
      if (missing.length > 0) return errorResponse(refusalError("insufficient_scope", missing, {}, admitted.clientId ? "access_token" : "key"), requestId);
      return next();
    }
    let result: VerifyResult;
    try {
      const credential = extractCredential(c.req.raw.headers, (candidate) => KEY_SHAPE.test(candidate));
      if (!credential) throw missingCredentials();
      result = await options.binding(c).verify({
        key: credential.key,
        method: c.req.method,
        path: new URL(c.req.url).pathname,
        ...(extra && extra.length > 0 ? { scopes: [...extra] } : {}),
        ...(cost === undefined ? {} : { cost }),
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
