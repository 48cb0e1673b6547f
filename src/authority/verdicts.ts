/**
 * Every answer the decision can give about one request with one key. `invalid` stands for a key
 * that does not exist, is malformed or was deleted: the three read the same to a caller, on
 * purpose, so nobody learns which ids were ever real.
 */
export type Verdict =
  | "valid"
  | "rate_limited"
  | "usage_exceeded"
  | "quota_exceeded"
  | "insufficient_scope"
  | "revoked"
  | "expired"
  | "tenant_inactive"
  | "invalid";

/** Refusals by a limit the key reached: one of its windows, its credits, its tenant's quota. */
export type LimitVerdict = "rate_limited" | "usage_exceeded" | "quota_exceeded";
/** Refusals that say the key may make no request at all right now. */
export type UnusableVerdict = "revoked" | "expired" | "tenant_inactive" | "invalid";

export type Refusal = Exclude<Verdict, "valid">;

/** The code a caller sees for each verdict: the gateway's error code, and verify's `code`. */
export const VERDICT_CODES = {
  valid: "valid",
  rate_limited: "rate_limit_exceeded",
  usage_exceeded: "usage_exceeded",
  quota_exceeded: "quota_exceeded",
  insufficient_scope: "insufficient_permissions",
  revoked: "revoked_key",
  expired: "expired_key",
  tenant_inactive: "tenant_inactive",
  invalid: "invalid_key",
} as const satisfies Record<Verdict, string>;

/** What was presented: an API key, or an OAuth access token (whose grant is decided like a key). */
export type CredentialKind = "key" | "access_token";

/** The same verdicts about an access token, in RFC 6750's words where they differ from a key's. */
export const TOKEN_VERDICT_CODES = {
  ...VERDICT_CODES,
  revoked: "revoked_token",
  expired: "expired_token",
  invalid: "invalid_token",
} as const satisfies Record<Verdict, string>;

export type VerdictCode = (typeof VERDICT_CODES)[Verdict] | (typeof TOKEN_VERDICT_CODES)[Verdict];

/** The code a caller sees for a verdict about this kind of credential. */
export function verdictCode(verdict: Verdict, kind: CredentialKind): VerdictCode {
  return (kind === "key" ? VERDICT_CODES : TOKEN_VERDICT_CODES)[verdict];
}

/** Every code a verification can answer, each once. */
export const ALL_VERDICT_CODES = [...new Set<VerdictCode>([...Object.values(VERDICT_CODES), ...Object.values(TOKEN_VERDICT_CODES)])];

/** The verdict a code stands for: how a verify answer is read back (the `keygate/hono` middleware). */
export function verdictOf(code: VerdictCode): Verdict {
  const verdicts = Object.keys(VERDICT_CODES) as Verdict[];
  return verdicts.find((verdict) => VERDICT_CODES[verdict] === code) ?? verdicts.find((verdict) => TOKEN_VERDICT_CODES[verdict] === code)!;
}

/** Whether a code is said only of access tokens. */
export function isTokenCode(code: string): boolean {
  return (Object.keys(TOKEN_VERDICT_CODES) as Verdict[]).some((verdict) => TOKEN_VERDICT_CODES[verdict] === code && VERDICT_CODES[verdict] !== code);
}

/**
 * Refusals that count as a failed authentication of the client, for the per-IP limit: guessing,
 * and replaying keys that no longer work. A suspended tenant's key is a real, current key, so it
 * does not count; neither do scope and rate-limit refusals.
 */
export function countsAsFailedAttempt(verdict: Verdict): boolean {
  return verdict === "invalid" || verdict === "revoked" || verdict === "expired";
}
