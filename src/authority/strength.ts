import type { KeyRecord } from "./key";
import { hasScope } from "./scopes";

/** What makes one key stronger than another. */
export type KeyStrength = Pick<KeyRecord, "environment" | "scopes" | "expiresAt" | "limit" | "windowSeconds">;

/** The first way `key` is stronger than `holder`, or null when it is not. */
export type StrengthExcess =
  | { field: "environment" }
  | { field: "scopes"; missing: string[] }
  | { field: "expires_at" }
  | { field: "rate_limit" };

/**
 * A tenant's key with keys:manage sees the plaintext of every key it creates or rotates, so it may
 * only hand out keys no stronger than itself: its own environment, scopes it holds, an expiry no
 * later than its own, a rate limit no higher than its own.
 */
export function strengthExcess(holder: KeyStrength, key: KeyStrength): StrengthExcess | null {
  if (key.environment !== holder.environment) return { field: "environment" };
  const missing = key.scopes.filter((scope) => !hasScope(holder.scopes, scope));
  if (missing.length > 0) return { field: "scopes", missing };
  if (holder.expiresAt !== null && (key.expiresAt === null || key.expiresAt > holder.expiresAt)) return { field: "expires_at" };
  // Neither a bigger burst (limit) nor a higher sustained rate (limit per window, cross-multiplied
  // to stay in integers): under 60 per minute, 1 per second is fine; 120 per 2 minutes (a bigger
  // burst) and 60 per 30 seconds (a faster rate) are not.
  if (key.limit > holder.limit || key.limit * holder.windowSeconds > holder.limit * key.windowSeconds) return { field: "rate_limit" };
  return null;
}
