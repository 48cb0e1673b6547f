import type { KeyPolicy } from "./key";
import { missingScopes } from "./scopes";
import { isExpired } from "./status";
import type { LimitVerdict, UnusableVerdict, Verdict } from "./verdicts";

/** One limit as a caller sees it: one of the key's windows, its credits, its tenant's quota. */
export interface LimitState {
  /** Its name in the RateLimit headers and verify answers: the window's, `credits`, `project`. */
  name: string;
  limit: number;
  remaining: number;
  /** Unix ms when `remaining` next grows (a window's oldest request leaves, a refill, a new period); null if never. */
  resetAt: number | null;
  /** The window's length, or the refill's or quota's period; null when there is none. */
  windowSeconds: number | null;
  /** Whether it is one of the key's windows (the classic x-ratelimit-* headers speak of those). */
  window: boolean;
}

/** What one request spends: cost units (credits, quota) and, unless it only checks, one request in each window. */
export interface Charge {
  units: number;
  /** False for a verification that only checks (cost 0): nothing is counted anywhere. */
  counted: boolean;
}

export const ONE_REQUEST: Charge = { units: 1, counted: true };

/** A limit's refusal: which verdict, and when asking again can help (null: not by waiting). */
export interface Shortfall {
  verdict: LimitVerdict;
  retryAfterMs: number | null;
}

/** The limits a decision counts in: each admits, or none of them is touched. */
export interface Limits {
  /** The first limit that refuses `charge` at `now` (windows, then credits, then the quota), or null. */
  shortfall(now: number, charge: Charge): Shortfall | null;
  /** Counts one admission in every limit. */
  spend(now: number, charge: Charge): void;
  /** Where each limit stands now. */
  states(now: number): LimitState[];
}

/** What every decision about a usable key carries: the key's scopes and where its limits stand. */
interface Standing {
  scopes: string[];
  limits: LimitState[];
}

/**
 * The whole answer about one request with one key, made by the key's object with its limits (see
 * decideWithoutLimits for the two made elsewhere). A refusal cannot be read as if it carried an
 * admission's limits: each verdict carries only what it means.
 */
export type Decision =
  | ({ verdict: "valid" } & Standing)
  | ({ verdict: LimitVerdict; retryAfterMs: number | null } & Standing)
  | ({ verdict: "insufficient_scope"; missingScopes: string[] } & Standing)
  | { verdict: UnusableVerdict };

/** Why a key may not be used right now, most final first; null when it may. */
export function policyRefusal(policy: KeyPolicy, now: number, neededScopes: readonly string[]): Verdict | null {
  if (policy.status === "deleted") return "invalid";
  if (policy.status === "revoked") return "revoked";
  if (!policy.tenantActive) return "tenant_inactive";
  if (isExpired(policy.expiresAt, now)) return "expired";
  if (missingScopes(policy.scopes, neededScopes).length > 0) return "insufficient_scope";
  return null;
}

/**
 * Decides one request: status, tenant, expiry and scopes first; only a request that passes all of
 * them is counted, and only if every limit has room for it, so a refused request never uses up
 * any window, credit or quota.
 */
export function decide(policy: KeyPolicy, now: number, neededScopes: readonly string[], limits: Limits, charge: Charge): Decision {
  const refusal = policyRefusal(policy, now, neededScopes);
  if (refusal === "insufficient_scope") {
    return { verdict: refusal, scopes: policy.scopes, missingScopes: missingScopes(policy.scopes, neededScopes), limits: limits.states(now) };
  }
  if (refusal) return { verdict: refusal as UnusableVerdict };
  const shortfall = limits.shortfall(now, charge);
  if (shortfall) return { ...shortfall, scopes: policy.scopes, limits: limits.states(now) };
  limits.spend(now, charge);
  return { verdict: "valid", scopes: policy.scopes, limits: limits.states(now) };
}

/**
 * The two decisions made without the key's object, and so without its limits: a record whose
 * status is terminal (revoked and deleted keys never come back, so any cache may be believed and
 * the trip saved), and an object that cannot be reached when RATE_LIMIT_FAIL_OPEN lets the cached
 * record decide alone. An admission made so carries no limits (no rate-limit headers): none was counted.
 */
export function decideWithoutLimits(policy: KeyPolicy, now: number, neededScopes: readonly string[]): Decision {
  return decide(policy, now, neededScopes, NO_LIMITS, ONE_REQUEST);
}

const NO_LIMITS: Limits = { shortfall: () => null, spend: () => {}, states: () => [] };

/** A key that is unknown or malformed: decided without any key at all. */
export function invalidKeyDecision(): Decision {
  return { verdict: "invalid" };
}
