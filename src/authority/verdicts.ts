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

export type VerdictCode = (typeof VERDICT_CODES)[Verdict];

/** The verdict a code stands for: how a verify answer is read back (the `keygate/hono` middleware). */
export function verdictOf(code: VerdictCode): Verdict {
  return (Object.keys(VERDICT_CODES) as Verdict[]).find((verdict) => VERDICT_CODES[verdict] === code)!;
}

/**
 * Refusals that count as a failed authentication of the client, for the per-IP limit: guessing,
 * and replaying keys that no longer work. A suspended tenant's key is a real, current key, so it
 * does not count; neither do scope and rate-limit refusals.
 */
export function countsAsFailedAttempt(verdict: Verdict): boolean {
  return verdict === "invalid" || verdict === "revoked" || verdict === "expired";
}

/**
 * Verdicts that mean the key may make no request at all right now, so its window means nothing to
 * the caller and no rate-limit headers are shown.
 */
export function isUnusable(verdict: Verdict): verdict is UnusableVerdict {
  return verdict === "invalid" || verdict === "revoked" || verdict === "expired" || verdict === "tenant_inactive";
}

/** Whether a verdict is a limit's refusal (429). */
export function isLimitVerdict(verdict: Verdict): verdict is LimitVerdict {
  return verdict === "rate_limited" || verdict === "usage_exceeded" || verdict === "quota_exceeded";
}
