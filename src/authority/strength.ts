import type { KeyRecord } from "./key";
import { PERIODS, type CreditPlan, type RateWindow, type Refill } from "./plan";
import { hasScope } from "./scopes";

/** A key's credits as they bound what it may issue: its plan, and what it has left now. */
export interface CreditStrength extends CreditPlan {
  remaining: number;
}

/** What makes one key stronger than another. */
export type KeyStrength = Pick<KeyRecord, "environment" | "scopes" | "expiresAt" | "windows"> & { credits: CreditStrength | null };

/** The first way `key` is stronger than `holder`, or null when it is not. */
export type StrengthExcess =
  | { field: "environment" }
  | { field: "scopes"; missing: string[] }
  | { field: "expires_at" }
  | { field: "rate_limits"; window: RateWindow }
  | { field: "credits"; credits: CreditStrength };

/**
 * A tenant's key with keys:manage sees the plaintext of every key it creates or rotates, so it may
 * only hand out keys no stronger than itself: its own environment, scopes it holds, an expiry no
 * later than its own, for each of its own windows a window of the new key at least as strict, and,
 * if it spends credits, credits for the new key too: no more than it has left, refilled no more
 * nor more often than its own.
 */
export function strengthExcess(holder: KeyStrength, key: KeyStrength): StrengthExcess | null {
  if (key.environment !== holder.environment) return { field: "environment" };
  const missing = key.scopes.filter((scope) => !hasScope(holder.scopes, scope));
  if (missing.length > 0) return { field: "scopes", missing };
  if (holder.expiresAt !== null && (key.expiresAt === null || key.expiresAt > holder.expiresAt)) return { field: "expires_at" };
  const unmatched = holder.windows.find((own) => !key.windows.some((window) => asStrict(window, own)));
  if (unmatched) return { field: "rate_limits", window: unmatched };
  if (holder.credits && !(key.credits && creditsWithin(key.credits, holder.credits))) return { field: "credits", credits: holder.credits };
  return null;
}

function creditsWithin(credits: CreditStrength, bound: CreditStrength): boolean {
  return credits.remaining <= bound.remaining && refillWithin(credits.refill, bound.refill);
}

/** No refill is weakest; otherwise no larger an amount, over a period no shorter (a month outlasts a day). */
function refillWithin(refill: Refill | null, bound: Refill | null): boolean {
  if (!refill) return true;
  if (!bound) return false;
  return refill.amount <= bound.amount && PERIODS.indexOf(refill.period) >= PERIODS.indexOf(bound.period);
}

/**
 * Neither a bigger burst (limit) nor a higher sustained rate (limit per window, cross-multiplied to
 * stay in integers): under 60 per minute, 1 per second is as strict; 120 per 2 minutes (a bigger
 * burst) and 60 per 30 seconds (a faster rate) are not.
 */
function asStrict(window: RateWindow, bound: RateWindow): boolean {
  return window.limit <= bound.limit && window.limit * bound.windowSeconds <= bound.limit * window.windowSeconds;
}
