import { z } from "@hono/zod-openapi";
import {
  calendarProblem,
  CREDITS_LIMIT_NAME,
  DEFAULT_WINDOW_NAME,
  MAX_ANCHOR_DAY,
  MAX_CREDITS,
  MAX_QUOTA,
  MAX_WINDOWS,
  PERIODS,
  QUOTA_LIMIT_NAME,
  windowsProblem,
  WINDOW_NAME_FORMAT,
  WINDOW_NAME_PATTERN,
  type Calendar,
  type CreditPlan,
  type Period,
  type Quota,
  type RateWindow,
  type Refill,
} from "../authority/plan";
import { ENVIRONMENTS, type Environment } from "../authority/key";
import { MAX_LIMIT, MAX_WINDOW_SECONDS } from "../authority/window";
import { oneOf } from "../authority/wire";

/**
 * A paid plan on the wire (snake_case): a key's windows and credits, a tenant's quotas, as the
 * admin API takes and shows them. The bounds and rules are authority/plan.ts's; this file only
 * spells them for zod and OpenAPI and converts between the wire and keygate's own shapes.
 */

const PeriodName = oneOf(PERIODS);

const AnchorDay = z
  .number()
  .int()
  .min(1)
  .max(MAX_ANCHOR_DAY)
  .optional()
  .openapi({ description: `Months only: the day of the month each period starts (1-${MAX_ANCHOR_DAY}; clamped to short months, so 31 is the month's last day). Default 1.` });

/** Refuses an anchor day for a daily period, naming the field. */
function anchorDayCheck<F extends "period" | "interval">(periodField: F) {
  return (value: { anchor_day?: number } & { [K in F]: Period }, ctx: z.RefinementCtx) => {
    const problem = calendarProblem({ period: value[periodField] as Period, anchorDay: value.anchor_day });
    if (problem) ctx.addIssue({ code: "custom", message: problem, path: ["anchor_day"] });
  };
}

export const RateWindowInput = z
  .strictObject({
    name: z.string().regex(WINDOW_NAME_PATTERN, WINDOW_NAME_FORMAT),
    limit: z.number().int().min(1).max(MAX_LIMIT),
    window_seconds: z.number().int().min(1).max(MAX_WINDOW_SECONDS),
  })
  .openapi("RateWindow", { example: { name: "burst", limit: 20, window_seconds: 1 } });

export const RateLimits = z
  .array(RateWindowInput)
  .min(1)
  .max(MAX_WINDOWS)
  .superRefine((windows, ctx) => {
    const problem = windowsProblem(windows);
    if (problem) ctx.addIssue({ code: "custom", message: problem.message, path: problem.index === null ? [] : [problem.index, problem.field!] });
  })
  .openapi({
    description:
      `1-${MAX_WINDOWS} named windows; a request is admitted only if every one has room. Names are unique, and \`${CREDITS_LIMIT_NAME}\` and \`${QUOTA_LIMIT_NAME}\` are taken ` +
      "(the rate-limit headers give those names to the key's credits and its tenant's quota).",
    example: [
      { name: "burst", limit: 20, window_seconds: 1 },
      { name: "sustained", limit: 10_000, window_seconds: 3600 },
    ],
  });

export const RefillInput = z
  .strictObject({
    amount: z.number().int().min(1).max(MAX_CREDITS).openapi({ description: "What `remaining` is set to at the start of every period (it does not add up)." }),
    interval: PeriodName.openapi({ description: "UTC days, or months starting on `anchor_day`." }),
    anchor_day: AnchorDay,
  })
  .superRefine(anchorDayCheck("interval"))
  .openapi("CreditRefill", { example: { amount: 1000, interval: "month", anchor_day: 1 } });

export const CreditsInput = z
  .strictObject({
    remaining: z.number().int().min(0).max(MAX_CREDITS).openapi({ description: "The key's credits from now; each admission spends its route's cost (ROUTE_COSTS, 1 by default)." }),
    refill: RefillInput.nullable().optional().openapi({ description: "Default: none (the credits only go down)." }),
  })
  .openapi("CreditsInput", { example: { remaining: 500, refill: { amount: 1000, interval: "month" } } });

export const QuotaInput = z
  .strictObject({
    limit: z.number().int().min(1).max(MAX_QUOTA).openapi({ description: "Cost units the tenant's keys of the environment may spend together per period." }),
    period: PeriodName.openapi({ description: "UTC days, or months starting on `anchor_day`." }),
    anchor_day: AnchorDay,
  })
  .superRefine(anchorDayCheck("period"))
  .openapi("QuotaInput", { example: { limit: 1_000_000, period: "month", anchor_day: 15 } });

export const QuotasInput = z
  .strictObject(Object.fromEntries(ENVIRONMENTS.map((environment) => [environment, QuotaInput.nullable().optional()])) as Record<Environment, z.ZodOptional<z.ZodNullable<typeof QuotaInput>>>)
  .openapi("QuotasInput", {
    description: "A quota per environment: live keys spend from `live`, test keys from `test`. `null` removes one; an environment left out is unchanged.",
    example: { live: { limit: 1_000_000, period: "month" } },
  });

export type RateWindowWire = z.output<typeof RateWindowInput>;
export type CreditsWire = z.output<typeof CreditsInput>;
export type QuotaWire = z.output<typeof QuotaInput>;
export type QuotasWire = z.output<typeof QuotasInput>;

export function windowsFromWire(windows: readonly RateWindowWire[]): RateWindow[] {
  return windows.map(({ name, limit, window_seconds }) => ({ name, limit, windowSeconds: window_seconds }));
}

/** The windows a key's create or update gives, in either spelling; undefined when it gives none. */
export function windowsGiven(input: { rate_limit?: { limit: number; window_seconds: number }; rate_limits?: readonly RateWindowWire[] }): RateWindow[] | undefined {
  if (input.rate_limits) return windowsFromWire(input.rate_limits);
  if (input.rate_limit) return [{ name: DEFAULT_WINDOW_NAME, limit: input.rate_limit.limit, windowSeconds: input.rate_limit.window_seconds }];
  return undefined;
}

export function windowsToWire(windows: readonly RateWindow[]): RateWindowWire[] {
  return windows.map(({ name, limit, windowSeconds }) => ({ name, limit, window_seconds: windowSeconds }));
}

/** A calendar as stored: the anchor day only for months, and then always (1 unless told). */
function calendarFrom(period: Period, anchorDay: number | undefined): Calendar {
  return period === "month" ? { period, anchorDay: anchorDay ?? 1 } : { period };
}

/** Credits as given: the plan the key keeps, and the credits it has from now. */
export function creditsFromWire(credits: CreditsWire): { plan: CreditPlan; remaining: number } {
  const refill: Refill | null = credits.refill ? { amount: credits.refill.amount, ...calendarFrom(credits.refill.interval, credits.refill.anchor_day) } : null;
  return { plan: { refill }, remaining: credits.remaining };
}

export function refillToWire(refill: Refill | null) {
  if (!refill) return null;
  return { amount: refill.amount, interval: refill.period, ...(refill.period === "month" ? { anchor_day: refill.anchorDay ?? 1 } : {}) };
}

export function quotaFromWire(quota: QuotaWire): Quota {
  return { limit: quota.limit, ...calendarFrom(quota.period, quota.anchor_day) };
}

export function quotaToWire(quota: Quota) {
  return { limit: quota.limit, period: quota.period, ...(quota.period === "month" ? { anchor_day: quota.anchorDay ?? 1 } : {}) };
}

const WireWindow = z.object({ name: z.string(), limit: z.number(), window_seconds: z.number() });
const WireCalendar = { anchor_day: z.number().optional().openapi({ description: "Months only." }) };

/** How a key's windows look in its views. */
export const RateLimitsView = z.array(WireWindow).openapi({ description: "Every window of the key, in the order given." });

export const CreditsView = z
  .object({
    remaining: z.number().nullable().openapi({
      description: "Credits left now, as the key's Durable Object counts them (GET of one key, and answers of the calls that change it); null in lists, which show the plan only.",
    }),
    refill: z.object({ amount: z.number(), interval: PeriodName, ...WireCalendar }).nullable(),
    refills_at: z.string().nullable().openapi({ description: "When `remaining` is next set to the refill's amount; null without a refill." }),
  })
  .nullable()
  .openapi("Credits", { description: "null: the key spends no credits." });

export const QuotaView = z
  .object({
    limit: z.number(),
    period: PeriodName,
    ...WireCalendar,
    used: z.number().nullable().openapi({
      description: "Cost units spent this period by the environment's keys, counting every unit leased to a key's object and not given back yet; null in lists.",
    }),
    remaining: z.number().nullable().openapi({ description: "limit − used, never below 0; null in lists." }),
    resets_at: z.string().nullable().openapi({ description: "The end of the current period; null in lists." }),
  })
  .nullable()
  .openapi("Quota", { description: "null: no quota for this environment." });

export const QuotasView = z.object(Object.fromEntries(ENVIRONMENTS.map((environment) => [environment, QuotaView])) as Record<Environment, typeof QuotaView>);
