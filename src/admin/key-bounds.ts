import { strengthExcess, type KeyStrength } from "../authority/strength";
import { DEFAULT_ENVIRONMENT, type Key } from "../authority/key";
import { changeRefusal } from "../authority/status";
import { DEFAULT_WINDOW_NAME } from "../authority/plan";
import { ApiError } from "../http/errors";
import type { Services } from "../services";
import { getKey } from "../store/key-repo";
import type { Principal } from "./context";
import { creditsLeft, type KeySettings } from "./key-lifecycle";
import { creditsFromWire, refillToWire, windowsGiven } from "./plans";
import type { KeyCreateInput } from "./schemas";
import { iso } from "./time";

/**
 * Self-service keys may only issue keys no stronger than themselves (authority/strength.ts).
 * Admins and the root token are not bound.
 *
 * Omitted fields default to what the caller may give: for a tenant's key, its own environment,
 * expiry, windows and credits (so a key that expires issues keys that expire with it, rather than
 * being refused for a field it did not send; one with credits, keys with what it has left); for
 * admins, live, never, the configured limit and no credits. An explicit `expires_at: null` (never)
 * from a key that expires itself is refused, as is `credits: null` from a key that has credits.
 */

/**
 * The calling key's own strength, read once per request; null for admins and root. Scopes and
 * environment come from the key's own admission; expiry and windows from its row (D1 is written
 * after the key's object, so it is never more generous than the object for long); the credits it
 * has left from its object, which counts them.
 */
export async function callerBounds(services: Services, principal: Principal): Promise<KeyStrength | null> {
  if (principal.kind !== "key") return null;
  const own = await getKey(services.db, principal.keyId);
  // Revoked or deleted between its admission and now: it may hand out nothing.
  if (!own || changeRefusal(own.status) !== null) throw refuse("This API key can no longer issue keys.", null);
  return { ...(await strengthOf(services, own)), environment: principal.environment, scopes: principal.scopes };
}

/** How strong a key is now: its settings, with the credits its object says it has left. */
export async function strengthOf(services: Services, key: Key): Promise<KeyStrength> {
  const { environment, scopes, expiresAt, windows } = key;
  const credits = key.credits ? { ...key.credits, remaining: (await creditsLeft(services, key)) ?? 0 } : null;
  return { environment, scopes, expiresAt, windows, credits };
}

/** Fills in the omitted fields for this caller, then holds the result to the caller's bounds. */
export function resolveSettings(input: KeyCreateInput, bounds: KeyStrength | null, services: Services): KeySettings {
  const { limit, windowSeconds } = services.config.defaultRateLimit;
  const fallback = bounds?.windows ?? [{ name: DEFAULT_WINDOW_NAME, limit, windowSeconds }];
  const settings: KeySettings = {
    tenantId: input.tenant_id,
    name: input.name ?? null,
    description: input.description ?? null,
    scopes: input.scopes,
    environment: input.environment ?? bounds?.environment ?? DEFAULT_ENVIRONMENT,
    expiresAt: input.expires_at !== undefined ? input.expires_at : (bounds?.expiresAt ?? null),
    windows: windowsGiven(input) ?? fallback,
    credits: input.credits === undefined ? (bounds?.credits ?? null) : input.credits === null ? null : creditStrength(input.credits),
  };
  if (bounds) assertWithin(bounds, settings);
  return settings;
}

/** 403 insufficient_permissions unless `key` is no stronger than the caller. */
export function assertWithin(bounds: KeyStrength, key: KeyStrength): void {
  const excess = strengthExcess(bounds, key);
  switch (excess?.field) {
    case undefined:
      return;
    case "environment":
      throw refuse(`An API key may only issue keys of its own environment (${bounds.environment}).`, { field: "environment", allowed: bounds.environment });
    case "scopes":
      throw refuse("An API key may only issue keys with scopes it holds itself.", { missing_scopes: excess.missing });
    case "expires_at":
      throw refuse("An API key that expires may only issue keys that expire no later than itself.", { field: "expires_at", latest: iso(bounds.expiresAt) });
    case "credits":
      throw refuse("An API key that spends credits may only issue keys with credits: no more than it has left, refilled no more and no more often than its own.", {
        field: "credits",
        remaining: excess.credits.remaining,
        refill: refillToWire(excess.credits.refill),
      });
    case "rate_limits":
      throw refuse("An API key may only issue keys whose rate limits are no higher than its own.", {
        field: "rate_limits",
        highest: { name: excess.window.name, limit: excess.window.limit, window_seconds: excess.window.windowSeconds },
      });
  }
}

function creditStrength(credits: NonNullable<KeyCreateInput["credits"]>) {
  const { plan, remaining } = creditsFromWire(credits);
  return { ...plan, remaining };
}

function refuse(message: string, details: Record<string, unknown> | null): ApiError {
  return new ApiError("insufficient_permissions", message, details);
}
