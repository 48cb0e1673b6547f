import { InvalidArgumentError } from "commander";
import { scopeProblem } from "../src/authority/scopes";
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
