/**
 * What a paid plan is made of, in one place: a key's rate windows, a key's credits, a tenant's
 * quota per environment, and the calendar periods credits refill and quotas reset on. The API's
 * schemas, the CLI, the console and the docs take their bounds from here.
 */

/** One of a key's rate limits: at most `limit` admitted requests in any `windowSeconds`. */
export interface RateWindow {
  name: string;
  limit: number;
  windowSeconds: number;
}

/** A key has one to this many windows, each with its own name. */
export const MAX_WINDOWS = 4;
/** What `rate_limit`, the one-window shorthand, names its window. */
export const DEFAULT_WINDOW_NAME = "default";
export const WINDOW_NAME_PATTERN = /^[a-z][a-z0-9_-]{0,31}$/;
export const WINDOW_NAME_FORMAT = "must be 1-32 lower-case letters, digits, - or _, starting with a letter";
/** What the rate-limit headers and verify answers call a key's credits. */
export const CREDITS_LIMIT_NAME = "credits";
/** What they call the key's tenant's quota. */
export const QUOTA_LIMIT_NAME = "project";
/** The names of limits that are not windows: no window may take them. */
export const RESERVED_LIMIT_NAMES = [CREDITS_LIMIT_NAME, QUOTA_LIMIT_NAME] as const;

/** The periods credits refill on and quotas reset on: UTC days, or months from an anchor day. */
export const PERIODS = ["day", "month"] as const;
export type Period = (typeof PERIODS)[number];

/** A calendar period: a UTC day, or a month starting on `anchorDay` (clamped to short months). */
export interface Calendar {
  period: Period;
  /** 1–31, months only; default 1. */
  anchorDay?: number;
}

/** A month's anchor day is a day of the month: 1 to this (clamped to short months). */
export const MAX_ANCHOR_DAY = 31;

/** The first problem with a calendar, or null: an anchor day only for months, and 1–31. */
export function calendarProblem(calendar: { period: Period; anchorDay?: number }): string | null {
  if (calendar.anchorDay === undefined) return null;
  if (calendar.period !== "month") return "is only for a month period";
  if (!Number.isInteger(calendar.anchorDay) || calendar.anchorDay < 1 || calendar.anchorDay > MAX_ANCHOR_DAY) return `must be a day of the month, 1 to ${MAX_ANCHOR_DAY}`;
  return null;
}

/** A refill sets a key's remaining credits to `amount` at the start of every period (it does not add). */
export interface Refill extends Calendar {
  amount: number;
}

/** A key's credits: spent by each admission's cost; `remaining` lives in the key's object. */
export interface CreditPlan {
  refill: Refill | null;
}

/** A tenant's quota for one environment: at most `limit` cost units per period, across every key. */
export interface Quota extends Calendar {
  limit: number;
}

export type TenantQuotas = Partial<Record<"live" | "test", Quota>>;

/** How the billing export is given: a file a spreadsheet opens, or the API's JSON. */
export const EXPORT_FORMATS = ["csv", "json"] as const;

/** The largest number of credits, cost units a quota allows, or cost of one request. */
export const MAX_CREDITS = 1_000_000_000_000;
export const MAX_QUOTA = 1_000_000_000_000;
export const MAX_COST = 1_000_000;

/** What is wrong with a set of windows: with the whole list (index null), or with one window's field. */
export interface WindowsProblem {
  index: number | null;
  field: "name" | null;
  message: string;
}

/** The first problem with a set of windows, or null: the API, the CLI and the console all ask this. */
export function windowsProblem(windows: readonly Pick<RateWindow, "name">[]): WindowsProblem | null {
  if (windows.length === 0) return { index: null, field: null, message: "must have at least one window" };
  if (windows.length > MAX_WINDOWS) return { index: null, field: null, message: `must have at most ${MAX_WINDOWS} windows` };
  const seen = new Set<string>();
  for (const [index, window] of windows.entries()) {
    const problem = (message: string): WindowsProblem => ({ index, field: "name", message });
    if (!WINDOW_NAME_PATTERN.test(window.name)) return problem(WINDOW_NAME_FORMAT);
    if ((RESERVED_LIMIT_NAMES as readonly string[]).includes(window.name)) {
      return problem(`"${window.name}" is reserved for the ${window.name === CREDITS_LIMIT_NAME ? "key's credits" : "tenant's quota"}`);
    }
    if (seen.has(window.name)) return problem(`"${window.name}" is used by two windows`);
    seen.add(window.name);
  }
  return null;
}

/** A key's windows as stored by any release: older ones kept one window as `limit`/`windowSeconds`. */
export function windowsOf(stored: { windows?: RateWindow[]; limit?: number; windowSeconds?: number }): RateWindow[] {
  if (stored.windows && stored.windows.length > 0) return stored.windows;
  return [{ name: DEFAULT_WINDOW_NAME, limit: stored.limit ?? 0, windowSeconds: stored.windowSeconds ?? 1 }];
}
