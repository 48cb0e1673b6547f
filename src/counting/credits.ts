import type { CreditPlan } from "../authority/plan";
import { periodAt } from "./calendar";

/** A key's credits as its object keeps them: what is left, and the period they were last refilled for. */
export interface CreditBalance {
  remaining: number;
  /** The start of the refill period `remaining` belongs to (null: the plan has no refill). */
  periodStart: number | null;
}

/**
 * The balance at `now`: a refill sets `remaining` to the plan's amount once a new period has begun
 * (it replaces what was left, as peers' refills do); without a refill, the balance only goes down.
 */
export function balanceAt(balance: CreditBalance, plan: CreditPlan, now: number): CreditBalance {
  if (!plan.refill) return balance;
  const { start } = periodAt(now, plan.refill);
  if (balance.periodStart !== null && balance.periodStart >= start) return balance;
  return { remaining: plan.refill.amount, periodStart: start };
}

/** A balance set by an admin at `now`: `remaining` holds for the rest of the current refill period. */
export function balanceSet(remaining: number, plan: CreditPlan, now: number): CreditBalance {
  return { remaining, periodStart: plan.refill ? periodAt(now, plan.refill).start : null };
}

/** When the next refill comes (null: never). */
export function nextRefill(plan: CreditPlan, now: number): number | null {
  return plan.refill ? periodAt(now, plan.refill).end : null;
}
