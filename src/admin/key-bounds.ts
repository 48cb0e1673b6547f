import { strengthExcess, type CreditStrength, type KeyStrength } from "../authority/strength";
import { DEFAULT_ENVIRONMENT, policyOf, type Key } from "../authority/key";
import { changeRefusal } from "../authority/status";
import { DEFAULT_WINDOW_NAME } from "../authority/plan";
import { ApiError } from "../http/errors";
import type { Services } from "../services";
import { getKey } from "../store/key-repo";
import type { Principal } from "./context";
import { creditsLeft, type CreditsRefund, type KeySettings } from "./key-lifecycle";
import { creditsFromWire, refillToWire, windowsGiven } from "./plans";
import type { KeyCreateInput } from "./schemas";
import { iso } from "./time";

/**
 * Self-service keys may only issue keys no stronger than themselves (authority/strength.ts).
 * Admins and the root token are not bound.
 *
 * Omitted fields default to what the caller may give: for a tenant's key, its own environment,
 * expiry and windows (so a key that expires issues keys that expire with it, rather than being
 * refused for a field it did not send); for admins, live, never, the configured limit and no
 * credits. An explicit `expires_at: null` (never) from a key that expires itself is refused, as is
 * `credits: null` from a key that has credits.
 *
 * Credits are the one thing a tenant's key gives away rather than shares: those it gives a new key
 * are taken from its own (takeCredits), with no refill of their own, so a key that spends credits must say how many it gives
 * (400 without `credits`): defaulting to all it has would empty it unasked, to none would issue a
 * key that can do nothing.
 */

/** A tenant's key calling the admin API: its row, and what it may hand out. */
export interface Issuer {
  key: Key;
  strength: KeyStrength;
}

/**
 * The calling key, read once per request; null for admins and root. Its scopes and environment
 * come from its own admission; expiry and windows from its row (D1 is written after the key's
 * object, so it is never more generous than the object for long); the credits it has left from
 * its object, which counts them.
 */
export async function issuerOf(services: Services, principal: Principal): Promise<Issuer | null> {
  if (principal.kind !== "key") return null;
  const own = await getKey(services.db, principal.keyId);
  // Revoked or deleted between its admission and now: it may hand out nothing.
  if (!own || changeRefusal(own.status) !== null) throw cannotIssue();
  return { key: own, strength: { ...(await strengthOf(services, own)), environment: principal.environment, scopes: principal.scopes } };
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
    credits: input.credits === undefined ? noCreditsGiven(bounds) : input.credits === null ? null : creditStrength(input.credits),
  };
  if (bounds) assertWithin(bounds, settings);
  if (bounds?.credits && settings.credits?.refill) {
    // What it gives is taken from its own balance once; a refill would make credits every period that no balance paid for.
    throw refuse("An API key that spends credits gives a new key part of its own balance, never a refill.", { field: "credits.refill" });
  }
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
      throw creditsRefusal(excess.credits);
    case "rate_limits":
      throw refuse("An API key may only issue keys whose rate limits are no higher than its own.", {
        field: "rate_limits",
        highest: { name: excess.window.name, limit: excess.window.limit, window_seconds: excess.window.windowSeconds },
      });
  }
}

/**
 * Takes the credits an issuer gives the new key from its own, in one step of its object, before
 * the key is issued: keys issued at once can never together be given more than it has. Less left
 * by then (spent, or given to a key issued meanwhile) is refused as asking for more than it has,
 * and nothing is taken. Returns what gives them back should the key not be issued; null when
 * nothing was taken (the issuer spends no credits, or gives none).
 */
export async function takeCredits(services: Services, issuer: Issuer, settings: KeySettings): Promise<CreditsRefund | null> {
  const own = issuer.strength.credits;
  const amount = settings.credits?.remaining ?? 0;
  if (!own || amount === 0) return null;
  const { key } = issuer;
  const taken = await services.guards.key(key.id).takeCredits(amount, policyOf(key), key.creditsSet);
  if (!taken) throw cannotIssue();
  if (!taken.taken) throw creditsRefusal({ ...own, remaining: taken.left });
  const { periodStart } = taken;
  return () => services.guards.key(key.id).giveCreditsBack(amount, periodStart);
}

/** Without `credits`: none for an admin's key; a tenant's key that spends credits must say what it gives. */
function noCreditsGiven(bounds: KeyStrength | null): null {
  if (bounds?.credits) {
    throw new ApiError("invalid_request", "An API key that spends credits must give the new key credits: they are taken from its own.", {
      fields: [{ field: "credits", message: "is required from a key that spends credits (they are taken from its own)" }],
    });
  }
  return null;
}

function creditsRefusal(own: CreditStrength): ApiError {
  return refuse("An API key that spends credits may only issue keys with credits: no more than it has left, and no refill.", {
    field: "credits",
    remaining: own.remaining,
    refill: refillToWire(own.refill),
  });
}

function cannotIssue(): ApiError {
  return refuse("This API key can no longer issue keys.", null);
}

function creditStrength(credits: NonNullable<KeyCreateInput["credits"]>) {
  const { plan, remaining } = creditsFromWire(credits);
  return { ...plan, remaining };
}

function refuse(message: string, details: Record<string, unknown> | null): ApiError {
  return new ApiError("insufficient_permissions", message, details);
}
