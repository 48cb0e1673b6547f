import type { KeyPolicy } from "../store/records";

export type Verdict =
  | "admitted"
  | "rate_limited"
  | "insufficient_scope"
  | "revoked"
  | "deleted"
  | "expired"
  | "tenant_inactive";

/**
 * What a scope may look like: `read`, `write:servers`, `keys:manage`, or `*` alone. Scopes compare
 * exactly, so no wildcard inside a scope (`servers:*`) is accepted that would never match.
 */
export const SCOPE_PATTERN = /^(\*|[a-z][a-z0-9_-]*(:[a-z0-9_-]+)*)$/;

/** Scope `*` allows everything; otherwise the exact scope is needed. */
export function hasScope(scopes: readonly string[], needed: string): boolean {
  return scopes.includes(needed) || scopes.includes("*");
}

/** The needed scopes the key does not hold. */
export function missingScopes(scopes: readonly string[], needed: readonly string[]): string[] {
  return needed.filter((scope) => !hasScope(scopes, scope));
}

/** Why a key may not be used right now, in order of finality; null when it may. */
export function policyRefusal(policy: KeyPolicy, now: number, neededScopes: readonly string[]): Verdict | null {
  if (policy.status === "deleted") return "deleted";
  if (policy.status === "revoked") return "revoked";
  if (!policy.tenantActive) return "tenant_inactive";
  if (policy.expiresAt !== null && policy.expiresAt <= now) return "expired";
  if (missingScopes(policy.scopes, neededScopes).length > 0) return "insufficient_scope";
  return null;
}
