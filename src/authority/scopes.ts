/**
 * The scope grammar: `read`, `write:servers`, `keys:manage`, or `*` alone. Scopes compare exactly,
 * so no wildcard inside a scope (`servers:*`) is accepted that would never match.
 */
export const SCOPE_PATTERN = /^(\*|[a-z][a-z0-9_-]*(:[a-z0-9_-]+)*)$/;

/** The scope a tenant's API key needs to manage its own tenant's keys through the admin API. */
export const SELF_SERVICE_SCOPE = "keys:manage";

/** Scope `*` allows everything; otherwise the exact scope is needed. */
export function hasScope(scopes: readonly string[], needed: string): boolean {
  return scopes.includes(needed) || scopes.includes("*");
}

/** The needed scopes the key does not hold. */
export function missingScopes(scopes: readonly string[], needed: readonly string[]): string[] {
  return needed.filter((scope) => !hasScope(scopes, scope));
}
