/**
 * The scope grammar: `read`, `write:servers`, `keys:manage`, or `*` alone. Scopes compare exactly,
 * so no wildcard inside a scope (`servers:*`) is accepted that would never match.
 */
export const SCOPE_PATTERN = /^(\*|[a-z][a-z0-9_-]*(:[a-z0-9_-]+)*)$/;
export const MAX_SCOPE_LENGTH = 64;
/** The most scopes one key holds, or one verification asks for. */
export const MAX_SCOPES = 50;
/** What a scope that breaks the grammar is told, wherever it is given. */
export const SCOPE_FORMAT = 'must look like "read", "write:servers" or "*"';
export const SCOPE_TOO_LONG = `must be at most ${MAX_SCOPE_LENGTH} characters`;

/** What a new key may do when its creator does not say. */
export const DEFAULT_SCOPES: readonly string[] = ["read", "write"];

/** Why `scope` is not one, in the words every API and the CLI use; null when it is. */
export function scopeProblem(scope: string): string | null {
  if (scope.length > MAX_SCOPE_LENGTH) return SCOPE_TOO_LONG;
  return SCOPE_PATTERN.test(scope) ? null : SCOPE_FORMAT;
}

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
