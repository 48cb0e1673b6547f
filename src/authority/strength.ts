import type { KeyRecord } from "./key";
import type { RateWindow } from "./plan";
import { hasScope } from "./scopes";

/** What makes one key stronger than another. */
export type KeyStrength = Pick<KeyRecord, "environment" | "scopes" | "expiresAt" | "windows">;

/** The first way `key` is stronger than `holder`, or null when it is not. */
export type StrengthExcess =
  | { field: "environment" }
  | { field: "scopes"; missing: string[] }
  | { field: "expires_at" }
  | { field: "rate_limits"; window: RateWindow };

/**
 * A tenant's key with keys:manage sees the plaintext of every key it creates or rotates, so it may
 * only hand out keys no stronger than itself: its own environment, scopes it holds, an expiry no
 * later than its own, and, for each of its own windows, a window of the new key at least as strict.
 */
export function strengthExcess(holder: KeyStrength, key: KeyStrength): StrengthExcess | null {
  if (key.environment !== holder.environment) return { field: "environment" };
  const missing = key.scopes.filter((scope) => !hasScope(holder.scopes, scope));
  if (missing.length > 0) return { field: "scopes", missing };
  if (holder.expiresAt !== null && (key.expiresAt === null || key.expiresAt > holder.expiresAt)) return { field: "expires_at" };
  const unmatched = holder.windows.find((own) => !key.windows.some((window) => asStrict(window, own)));
  if (unmatched) return { field: "rate_limits", window: unmatched };
  return null;
}

/**
 * Neither a bigger burst (limit) nor a higher sustained rate (limit per window, cross-multiplied to
 * stay in integers): under 60 per minute, 1 per second is as strict; 120 per 2 minutes (a bigger
 * burst) and 60 per 30 seconds (a faster rate) are not.
 */
function asStrict(window: RateWindow, bound: RateWindow): boolean {
  return window.limit <= bound.limit && window.limit * bound.windowSeconds <= bound.limit * window.windowSeconds;
}
