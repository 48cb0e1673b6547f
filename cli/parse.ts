import { InvalidArgumentError } from "commander";
import {
  calendarProblem,
  DEFAULT_WINDOW_NAME,
  MAX_ANCHOR_DAY,
  MAX_CREDITS,
  MAX_QUOTA,
  PERIODS,
  windowsProblem,
  WINDOW_NAME_FORMAT,
  WINDOW_NAME_PATTERN,
  type Period,
} from "../src/authority/plan";
import { scopeProblem } from "../src/authority/scopes";
import { UsageError } from "./errors";
import { duration } from "./output";
import { MAX_LIMIT as MAX_RATE_LIMIT, MAX_WINDOW_SECONDS } from "../src/authority/window";

/**
 * Option values checked before any request is made, so a typo is a usage error (exit 2) rather
 * than a half-done operation. Thrown InvalidArgumentErrors are reported by commander as
 * "option '--x <v>' argument 'v' is invalid. <reason>".
 */

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };
const DURATION = /^(\d+)([smhdw])$/;
// The API's own bounds (src/admin/schemas.ts), checked here too so no request is wasted on them.
const MAX_GRACE_SECONDS = 30 * 86_400;
const MAX_PAGE_SIZE = 100;

/** `90s`, `15m`, `12h`, `30d`, `2w`, or a bare number of seconds. */
export function parseDuration(text: string): number {
  const value = text.trim().toLowerCase();
  if (/^\d+$/.test(value)) return Number(value);
  const match = DURATION.exec(value);
  if (!match) throw new InvalidArgumentError("Expected a duration like 90s, 15m, 12h or 30d.");
  return Number(match[1]) * UNIT_SECONDS[match[2]!]!;
}

/** A date or date-time; a bare date is midnight UTC. */
function parseDate(text: string): number | null {
  if (!/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/i.test(text.trim())) return null;
  const ms = Date.parse(text.trim());
  return Number.isNaN(ms) ? null : ms;
}

/** `--expires 30d` (from now) or `--expires 2026-12-31[T12:00:00Z]`: an ISO instant in the future. */
export function parseExpiry(text: string, now = Date.now()): string {
  const ms = DURATION.test(text.trim().toLowerCase()) ? now + parseDuration(text) * 1000 : parseDate(text);
  if (ms === null) throw new InvalidArgumentError("Expected a duration from now (30d, 12h, 15m) or a date (2026-12-31 or 2026-12-31T12:00:00Z).");
  if (ms <= now) throw new InvalidArgumentError("The expiry must be in the future.");
  return new Date(ms).toISOString();
}

/** `--from 2026-11-01`: a day, as the API takes it. */
export function parseDay(text: string): string {
  const value = text.trim();
  const ms = /^\d{4}-\d{2}-\d{2}$/.test(value) ? Date.parse(value) : NaN;
  // Date.parse rolls 2026-02-31 over into March: a day that does not exist is refused.
  if (Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== value) throw new InvalidArgumentError("Expected a day like 2026-11-01.");
  return value;
}

/** `--since 7d` (that long ago) or a date: an ISO instant in the past. */
export function parseSince(text: string, now = Date.now()): string {
  const ms = DURATION.test(text.trim().toLowerCase()) ? now - parseDuration(text) * 1000 : parseDate(text);
  if (ms === null) throw new InvalidArgumentError("Expected a duration ago (7d, 12h) or a date (2026-01-31).");
  return new Date(ms).toISOString();
}

export interface RateLimit {
  limit: number;
  window_seconds: number;
}

/** `60/60s`, `1000/1h`, `5/1`: requests per window, the API's rate_limit object. */
export function parseRateLimit(text: string): RateLimit {
  const match = /^(\d+)\/(.+)$/.exec(text.trim());
  if (!match) throw new InvalidArgumentError("Expected REQUESTS/WINDOW, like 60/60s or 1000/1h.");
  const limit = Number(match[1]);
  const windowSeconds = parseDuration(match[2]!);
  if (limit < 1 || limit > MAX_RATE_LIMIT) throw new InvalidArgumentError(`The request count must be 1 to ${MAX_RATE_LIMIT}.`);
  if (windowSeconds < 1 || windowSeconds > MAX_WINDOW_SECONDS) throw new InvalidArgumentError("The window must be 1 second to 31 days.");
  return { limit, window_seconds: windowSeconds };
}

export function parseGrace(text: string): number {
  const seconds = parseDuration(text);
  if (seconds > MAX_GRACE_SECONDS) throw new InvalidArgumentError("The grace period is at most 30d.");
  return seconds;
}

export function parsePageSize(text: string): number {
  const size = /^\d+$/.test(text.trim()) ? Number(text) : NaN;
  if (!(size >= 1 && size <= MAX_PAGE_SIZE)) throw new InvalidArgumentError(`Expected a number from 1 to ${MAX_PAGE_SIZE}.`);
  return size;
}

/** `--scope a --scope b`: commander hands each value with the list so far; each is checked against the scope grammar. */
export function collectScope(value: string, previous: string[] | undefined): string[] {
  const problem = scopeProblem(value);
  if (problem) throw new InvalidArgumentError(`A scope ${problem}.`);
  return [...(previous ?? []), value];
}

/**
 * Ids are checked for their prefix before they go into a path: `keys get ten_…` is a usage error,
 * and nothing but [0-9A-Za-z] after the prefix can reach the URL.
 */
export function idOf(prefix: "key" | "ten" | "adm" | "cli" | "grt", noun: string): (text: string) => string {
  const pattern = new RegExp(`^${prefix}_[0-9A-Za-z]{1,64}$`);
  return (text) => {
    if (!pattern.test(text)) throw new InvalidArgumentError(`Expected ${noun} id (${prefix}_…).`);
    return text;
  };
}

/** `--redirect-uri a --redirect-uri b`: each must be an absolute URI (keygate checks the rest). */
export function collectRedirectUri(value: string, previous: string[] | undefined): string[] {
  try {
    new URL(value);
  } catch {
    throw new InvalidArgumentError("Expected an absolute URI, like https://app.example.com/callback.");
  }
  return [...(previous ?? []), value];
}

/** A window as the API takes it (rate_limits). */
export interface RateWindow {
  name: string;
  limit: number;
  window_seconds: number;
}

/**
 * `--window burst=20/1s --window 10000/1h`: commander hands each value with the list so far. A
 * window without a name is named by its length (`per-1h`), or `default` when it is the only one
 * (see namedWindows); names and count are checked by authority/plan.ts's rule once all are in.
 */
export function collectWindow(value: string, previous: RateWindow[] | undefined): RateWindow[] {
  const match = /^(?:([^=]+)=)?(.+)$/.exec(value.trim())!;
  const name = match[1]?.trim() ?? "";
  if (name !== "" && !WINDOW_NAME_PATTERN.test(name)) throw new InvalidArgumentError(`A window's name ${WINDOW_NAME_FORMAT}.`);
  const { limit, window_seconds } = parseRateLimit(match[2]!);
  return [...(previous ?? []), { name, limit, window_seconds }];
}

/** The windows as given, the unnamed ones named; a usage error if the set breaks the plan's rule. */
export function namedWindows(windows: RateWindow[]): RateWindow[] {
  const named = windows.map((window) => ({
    ...window,
    name: window.name || (windows.length === 1 ? DEFAULT_WINDOW_NAME : `per-${duration(window.window_seconds)}`),
  }));
  const problem = windowsProblem(named);
  if (problem) {
    const which = problem.index === null ? "" : ` (window ${problem.index + 1}, "${named[problem.index]!.name}")`;
    throw new UsageError(`--window: ${problem.index === null ? `a key ${problem.message}` : `the name ${problem.message}`}${which}.`);
  }
  return named;
}

function wholeNumber(text: string, what: string, min: number, max: number): number {
  const value = /^\d+$/.test(text.trim()) ? Number(text) : NaN;
  if (!(value >= min && value <= max)) throw new InvalidArgumentError(`${what} must be a whole number from ${min} to ${max}.`);
  return value;
}

/** `--remaining 500`: credits from now. */
export function parseCredits(text: string): number {
  return wholeNumber(text, "Credits", 0, MAX_CREDITS);
}

/** `--limit 1000000`: a quota's units per period. */
export function parseQuotaLimit(text: string): number {
  return wholeNumber(text, "A quota", 1, MAX_QUOTA);
}

/** `--anchor-day 15`: the day of the month a monthly period starts. */
export function parseAnchorDay(text: string): number {
  return wholeNumber(text, "The anchor day", 1, MAX_ANCHOR_DAY);
}

/** A refill as the API takes it. */
export interface Refill {
  amount: number;
  interval: Period;
  anchor_day?: number;
}

/** `--refill 1000/month` or `1000/day`: the credits a key is set back to each period. */
export function parseRefill(text: string): Refill {
  const match = /^(\d+)\/([a-z]+)$/.exec(text.trim().toLowerCase());
  if (!match || !(PERIODS as readonly string[]).includes(match[2]!)) throw new InvalidArgumentError(`Expected AMOUNT/PERIOD, like 1000/month (periods: ${PERIODS.join(", ")}).`);
  return { amount: wholeNumber(match[1]!, "A refill's amount", 1, MAX_CREDITS), interval: match[2] as Period };
}

/** An anchor day given with a period, checked by the plan's rule (months only). */
export function withAnchorDay<T extends object>(calendar: T, period: Period, anchorDay: number | undefined): T & { anchor_day?: number } {
  if (anchorDay === undefined) return calendar;
  const problem = calendarProblem({ period, anchorDay });
  if (problem) throw new UsageError(`--anchor-day ${problem}.`);
  return { ...calendar, anchor_day: anchorDay };
}
