import type { Config } from "../config";
import { extractCredential, unauthorized, type Carrier } from "../credentials/extract";
import { ApiError } from "../http/errors";
import { parseKey, type Environment } from "../keys/format";
import { hashKey } from "../keys/hash";
import { keyGuard } from "../ratelimit/guard-client";
import { rateLimitHeaders } from "../ratelimit/headers";
import type { Admission } from "../ratelimit/key-guard";
import { missingScopes, policyRefusal, type Verdict } from "../ratelimit/policy";
import { findKeyByHash } from "../store/key-store";
import type { KeyRecord } from "../store/records";
import { assertNotBlocked, clientIp, failedAttempt } from "./failed-attempts";

export interface Caller {
  keyId: string;
  tenantId: string;
  environment: Environment;
  scopes: string[];
  carriers: Carrier[];
  /** Rate-limit headers for the response; empty when failing open without the key's object. */
  rateLimitHeaders: Record<string, string>;
}

/** Refusals that count as failed authentications for the per-IP limit. */
const COUNTED_FAILURES = new Set<Verdict>(["deleted", "revoked", "expired"]);

/**
 * Who is calling, and may they: format and checksum (no I/O), then the key's record from the
 * caches or D1, then the key's Durable Object, which alone decides status, scope and the window.
 * Throws the ApiError to answer with.
 */
export async function authenticate(
  request: Request,
  env: Env,
  ctx: ExecutionContext,
  config: Config,
  neededScopes: readonly string[],
): Promise<Caller> {
  const credential = extractCredential(request.headers, (candidate) => parseKey(candidate, config.keyPrefix) !== null);
  if (!credential) throw unauthorized("missing_credentials", "An API key is required: send it in the x-api-key header.");
  if (!parseKey(credential.key, config.keyPrefix)) throw refusalError("deleted", [], {});

  const ip = clientIp(request);
  assertNotBlocked(ip);
  const record = await findKeyByHash(env, ctx, await hashKey(credential.key));
  // Revoked and deleted are final, so a cache saying so saves the trip to the key's object.
  const known = record && record.status === "active" ? record : null;
  const admission = known ? await admit(env, config, known, neededScopes) : null;
  const verdict: Verdict = !record
    ? "deleted"
    : admission
      ? admission.verdict
      : (policyRefusal(record, Date.now(), neededScopes) ?? "admitted");
  const headers = admission ? rateLimitHeaders(admission.window, admission.windowSeconds) : {};

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
 * Asks the key's object. If it cannot be reached the request fails closed, unless
 * RATE_LIMIT_FAIL_OPEN is set: then the cached snapshot decides, without a window (null).
 */
async function admit(env: Env, config: Config, record: KeyRecord, neededScopes: readonly string[]): Promise<Admission | null> {
  try {
    const { id, tenantId, environment, ...snapshot } = record;
    return await keyGuard(env, id).admit(neededScopes, snapshot);
  } catch (error) {
    console.error("keygate: key guard unavailable", error);
    if (config.rateLimitFailOpen) return null;
    throw new ApiError("auth_unavailable", "Authentication is temporarily unavailable; try again shortly.");
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
