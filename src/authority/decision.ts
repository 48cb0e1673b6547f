import type { KeyPolicy } from "./key";
import { missingScopes } from "./scopes";
import { isExpired } from "./status";
import { isUnusable, type Verdict } from "./verdicts";
import type { Window, WindowState } from "./window";

/** The whole answer about one request with one key: made once, by the key's object. */
export interface Decision {
  verdict: Verdict;
  /** The needed scopes the key lacks (only for insufficient_scope). */
  missingScopes: string[];
  /** The key's scopes as of this decision, for the identity the origin is told. */
  scopes: string[];
  /** Where the key stands in its window; null when the key is unusable or no window was asked. */
  window: WindowState | null;
  windowSeconds: number;
}

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
 * them counts in the window, so a refused request never uses up the key's limit. `window` is null
 * only where no window can be reached (RATE_LIMIT_FAIL_OPEN): then the policy alone decides.
 */
export function decide(policy: KeyPolicy, now: number, neededScopes: readonly string[], window: Window | null): Decision {
  const { scopes, windowSeconds } = policy;
  const windowMs = windowSeconds * 1000;
  const refusal = policyRefusal(policy, now, neededScopes);
  if (refusal) {
    return {
      verdict: refusal,
      missingScopes: refusal === "insufficient_scope" ? missingScopes(scopes, neededScopes) : [],
      scopes,
      window: window && !isUnusable(refusal) ? window.peek(now, policy.limit, windowMs) : null,
      windowSeconds,
    };
  }
  if (!window) return { verdict: "valid", missingScopes: [], scopes, window: null, windowSeconds };
  const state = window.tryAdmit(now, policy.limit, windowMs);
  return { verdict: state.admitted ? "valid" : "rate_limited", missingScopes: [], scopes, window: state, windowSeconds };
}

/** A key that is unknown or malformed: decided without any key at all. */
export function invalidKeyDecision(): Decision {
  return { verdict: "invalid", missingScopes: [], scopes: [], window: null, windowSeconds: 0 };
}
