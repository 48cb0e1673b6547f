import type { Context } from "hono";
import type { Config } from "../config";
import { ApiError } from "../http/errors";
import type { Environment } from "../keys/format";
import { hasScope } from "../ratelimit/policy";
import { getKey } from "../store/key-repo";
import type { AdminEnv } from "./context";
import type { KeyCreateInput } from "./schemas";
import { iso } from "./time";

/**
 * A tenant's key with keys:manage sees the plaintext of every key it creates or rotates, so it may
 * only hand out keys no stronger than itself: its own environment, scopes it holds, an expiry no
 * later than its own, a rate limit no higher than its own. Admins and the root token are not
 * bound.
 *
 * Omitted fields default to what the caller may give: for a tenant's key, its own environment,
 * expiry and rate limit (so a key that expires issues keys that expire with it, rather than being
 * refused for a field it did not send); for admins, live, never and the configured limit. An
 * explicit `expires_at: null` (never) from a key that expires itself is refused.
 */

/** What the calling key may hand on; null for admins and root. */
export interface CallerBounds {
  environment: Environment;
  scopes: readonly string[];
  expiresAt: number | null;
  limit: number;
  windowSeconds: number;
}

/** A create request with every default resolved: what a key is issued with. */
export type KeySettings = KeyCreateInput & Required<Pick<KeyCreateInput, "environment" | "rate_limit">> & { expires_at: number | null };

/** The settings that decide a key's strength. */
export type KeyStrength = Pick<KeySettings, "environment" | "scopes" | "expires_at" | "rate_limit">;

/**
 * The caller's bounds, read once per request. Scopes and environment come from the key's own
 * admission; expiry and rate limit from its row (D1 is written after the key's object, so it is
 * never more generous than the object for long).
 */
export async function callerBounds(c: Context<AdminEnv>): Promise<CallerBounds | null> {
  const principal = c.var.principal;
  if (principal.kind !== "key") return null;
  const own = await getKey(c.env.DB, principal.keyId);
  // Deleted between its admission and now: it may hand out nothing.
  if (!own || own.deleted_at !== null || own.revoked_at !== null) throw refuse("This API key can no longer issue keys.", null);
  return {
    environment: principal.environment,
    scopes: principal.scopes,
    expiresAt: own.expires_at,
    limit: own.rate_limit,
    windowSeconds: own.rate_window_seconds,
  };
}

/** Fills in the omitted fields for this caller, then holds the result to the caller's bounds. */
export function resolveSettings(input: KeyCreateInput, bounds: CallerBounds | null, config: Config): KeySettings {
  const fallbackRate = bounds
    ? { limit: bounds.limit, window_seconds: bounds.windowSeconds }
    : { limit: config.defaultRateLimit.limit, window_seconds: config.defaultRateLimit.windowSeconds };
  const settings: KeySettings = {
    ...input,
    environment: input.environment ?? bounds?.environment ?? "live",
    expires_at: input.expires_at !== undefined ? input.expires_at : (bounds?.expiresAt ?? null),
    rate_limit: input.rate_limit ?? fallbackRate,
  };
  if (bounds) assertWithin(bounds, settings);
  return settings;
}

/** 403 insufficient_permissions unless `key` is no stronger than the caller. */
export function assertWithin(bounds: CallerBounds, key: KeyStrength): void {
  if (key.environment !== bounds.environment) {
    throw refuse(`An API key may only issue keys of its own environment (${bounds.environment}).`, { field: "environment", allowed: bounds.environment });
  }
  const missing = key.scopes.filter((scope) => !hasScope(bounds.scopes, scope));
  if (missing.length > 0) throw refuse("An API key may only issue keys with scopes it holds itself.", { missing_scopes: missing });
  if (bounds.expiresAt !== null && (key.expires_at === null || key.expires_at > bounds.expiresAt)) {
    throw refuse("An API key that expires may only issue keys that expire no later than itself.", { field: "expires_at", latest: iso(bounds.expiresAt) });
  }
  // Neither a bigger burst (limit) nor a higher sustained rate (limit per window, cross-multiplied
  // to stay in integers): under 60 per minute, 1 per second is fine; 120 per 2 minutes (a bigger
  // burst) and 60 per 30 seconds (a faster rate) are not.
  const { limit, window_seconds: windowSeconds } = key.rate_limit;
  if (limit > bounds.limit || limit * bounds.windowSeconds > bounds.limit * windowSeconds) {
    throw refuse("An API key may only issue keys whose rate limit is no higher than its own.", {
      field: "rate_limit",
      highest: { limit: bounds.limit, window_seconds: bounds.windowSeconds },
    });
  }
}

function refuse(message: string, details: Record<string, unknown> | null): ApiError {
  return new ApiError("insufficient_permissions", message, details);
}
