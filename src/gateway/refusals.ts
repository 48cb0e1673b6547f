import { countsAsFailedAttempt, verdictCode, type CredentialKind, type Refusal } from "../authority/verdicts";
import { unauthorized } from "../credentials/extract";
import { ApiError, RejectedCredential, type ErrorCode } from "../http/errors";

const MESSAGES: Record<Refusal, string> = {
  invalid: "The API key is not valid.",
  revoked: "The API key has been revoked.",
  expired: "The API key has expired.",
  tenant_inactive: "The tenant that owns this API key is suspended.",
  rate_limited: "Rate limit exceeded for this API key.",
  usage_exceeded: "This API key has no credits left for this request.",
  quota_exceeded: "The project's quota for this period is used up.",
  insufficient_scope: "This API key lacks a scope needed for this request.",
};

const TOKEN_MESSAGES: Record<Refusal, string> = {
  invalid: "The access token is not valid.",
  revoked: "The access token's grant has been revoked.",
  expired: "The access token has expired.",
  tenant_inactive: "The tenant this access token acts for is suspended.",
  rate_limited: "Rate limit exceeded for this access token's grant.",
  usage_exceeded: "This access token's grant has no credits left for this request.",
  quota_exceeded: "The project's quota for this period is used up.",
  insufficient_scope: "This access token lacks a scope needed for this request.",
};

/** No key at all. */
export function missingCredentials(): ApiError {
  return unauthorized("missing_credentials", "An API key is required: send it in the x-api-key header.");
}

/**
 * The answer to a refused decision, the same wherever a key (or an OAuth access token) is checked:
 * the proxy, self-service admin calls, the `keygate/hono` middleware. Unknown, malformed and
 * deleted keys read the same. A refusal that counts as a failed attempt is a RejectedCredential,
 * so the throttle counts it. A token's refusals carry RFC 6750's `invalid_token` and
 * `insufficient_scope` in `WWW-Authenticate`, as a key's do.
 */
export function refusalError(refusal: Refusal, missing: readonly string[], headers: Record<string, string>, kind: CredentialKind = "key"): ApiError {
  const code = verdictCode(refusal, kind) as ErrorCode;
  const messages = kind === "key" ? MESSAGES : TOKEN_MESSAGES;
  const holder = kind === "key" ? "API key" : "access token";
  switch (refusal) {
    case "rate_limited":
    case "usage_exceeded":
    case "quota_exceeded":
      return new ApiError(code, messages[refusal], null, headers);
    case "insufficient_scope":
      return new ApiError(
        code,
        `This ${holder} lacks the scope "${missing[0]}" needed for this request.`,
        missing.length > 1 ? { required_scope: missing[0], required_scopes: missing } : { required_scope: missing[0] },
        { ...headers, "www-authenticate": `Bearer realm="keygate", error="insufficient_scope", scope="${missing.join(" ")}"` },
      );
    default:
      return unauthorized(code, messages[refusal], countsAsFailedAttempt(refusal) ? RejectedCredential : ApiError);
  }
}
