import type { Config } from "../config";
import { extractCredential, unauthorized, type Carrier } from "../credentials/extract";
import { ApiError, authUnavailable } from "../http/errors";
import { isWellFormedKey } from "../keys/format";
import { hashKey } from "../keys/hash";
import type { Identity } from "../proxy/forward";
import { keyGuard } from "../ratelimit/guard-client";
import { rateLimitHeaders } from "../ratelimit/headers";
import type { Admission } from "../ratelimit/key-guard";
import { missingScopes, policyRefusal, type Verdict } from "../ratelimit/policy";
import { findKeyByHash } from "../store/key-store";
import { isFinal, type KeyRecord } from "../store/records";
import { assertNotBlocked, clientIp, failedAttempt } from "./failed-attempts";

export interface Caller extends Identity {
  carriers: Carrier[];
  /** Rate-limit headers for the response; empty when failing open without the key's object. */
  rateLimitHeaders: Record<string, string>;
}

/** Refusals that count as failed authentications for the per-IP limit. */
const COUNTED_FAILURES = new Set<Verdict>(["deleted", "revoked", "expired"]);

/**
 * Who is calling, and may they: format and checksum (no I/O), then the key's record from the
 * caches or D1, then the key's Durable Object, which alone decides status, scopes and the window.
 * Throws the ApiError to answer with.
 */
export async function authenticate(
  request: Request,
  env: Env,
  ctx: ExecutionContext,
  config: Config,
  neededScopes: readonly string[],
): Promise<Caller> {
  const credential = extractCredential(request.headers, (candidate) => isWellFormedKey(candidate, config.keyPrefix));
  if (!credential) throw unauthorized("missing_credentials", "An API key is required: send it in the x-api-key header.");
  if (!isWellFormedKey(credential.key, config.keyPrefix)) throw refusalError("deleted", [], {});

  const ip = clientIp(request);
  assertNotBlocked(ip);
  const record = await findKeyByHash(env, ctx, await hashKey(credential.key));
  // Revoked and deleted are final, so a cache saying so saves the trip to the key's object.
  const usable = record && !isFinal(record.status) ? record : null;
  const admission = usable ? await admit(env, config, usable, neededScopes) : null;
  const verdict: Verdict = !record
    ? "deleted"
    : admission
      ? admission.verdict
      : (policyRefusal(record, Date.now(), neededScopes) ?? "admitted");
  const headers = admission?.window ? rateLimitHeaders(admission.window, admission.windowSeconds) : {};

  if (verdict === "admitted") {
    return {
      keyId: record!.id,
      tenantId: record!.tenantId,
      environment: record!.environment,
      scopes: admission?.scopes ?? record!.scopes,
      carriers: credential.carriers,
      rateLimitHeaders: headers,
    };
  }
  const missing = missingScopes(admission?.scopes ?? record?.scopes ?? [], neededScopes);
  const error = refusalError(verdict, missing, headers);
  throw COUNTED_FAILURES.has(verdict) ? await failedAttempt(env, config, ip, error) : error;
}

/**
 * Asks the key's object, seeding it from the cached record only if it has never been written. If
 * it cannot be reached the request fails closed, unless RATE_LIMIT_FAIL_OPEN is set: then the
 * cached record decides, without a window (null). An object refusing work because it is overloaded
 * is the key's own traffic, so that never fails open: flooding a key must not lift its limit.
 */
async function admit(env: Env, config: Config, record: KeyRecord, neededScopes: readonly string[]): Promise<Admission | null> {
  try {
    const guard = keyGuard(env, record.id);
    const admission = await guard.admit(neededScopes);
    if (admission) return admission;
    const { id, tenantId, environment, ...snapshot } = record;
    return await guard.admit(neededScopes, snapshot);
  } catch (error) {
    console.error("keygate: key guard unavailable", error);
    if (config.rateLimitFailOpen && !(error as { overloaded?: boolean }).overloaded) return null;
    throw authUnavailable();
  }
}

/** The answer to every refusal. Unknown, malformed and deleted keys read the same, on purpose. */
function refusalError(verdict: Exclude<Verdict, "admitted">, missing: readonly string[], headers: Record<string, string>): ApiError {
  switch (verdict) {
    case "deleted":
      return unauthorized("invalid_key", "The API key is not valid.");
    case "revoked":
      return unauthorized("revoked_key", "The API key has been revoked.");
    case "expired":
      return unauthorized("expired_key", "The API key has expired.");
    case "tenant_inactive":
      return unauthorized("tenant_inactive", "The tenant that owns this API key is suspended.");
    case "rate_limited":
      return new ApiError("rate_limit_exceeded", "Rate limit exceeded for this API key.", null, headers);
    case "insufficient_scope":
      return new ApiError(
        "insufficient_permissions",
        `This API key lacks the scope "${missing[0]}" needed for this request.`,
        missing.length > 1 ? { required_scope: missing[0], required_scopes: missing } : { required_scope: missing[0] },
        { ...headers, "www-authenticate": `Bearer realm="keygate", error="insufficient_scope", scope="${missing.join(" ")}"` },
      );
  }
}
