/**
 * The time grid usage is counted on. Counts are kept per UTC hour (the finest grain anyone asks
 * for) and summed into days when read, so one stored shape answers both granularities.
 */
export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

/** How long a key's hourly counts are kept (in its object and in D1's tenant totals). */
export const KEY_RETENTION_MS = 30 * DAY_MS;
/** How long a client address's hourly failed-attempt counts are kept. */
export const ATTEMPT_RETENTION_MS = 7 * DAY_MS;

export type Granularity = "hour" | "day";

export function bucketStart(at: number, granularity: Granularity): number {
  const size = granularity === "hour" ? HOUR_MS : DAY_MS;
  return Math.floor(at / size) * size;
}

/**
 * Counts by outcome code (`valid`, `rate_limit_exceeded`, `revoked_key`, …) for one stretch of
 * time, and under UNITS the cost units its admissions spent (credits, quota).
 */
export type CodeCounts = Record<string, number>;

/** Where CodeCounts keeps the cost units spent: not an outcome code. */
export const UNITS = "units";

export function addCounts(into: CodeCounts, from: CodeCounts): CodeCounts {
  for (const [code, n] of Object.entries(from)) into[code] = (into[code] ?? 0) + n;
  return into;
}

/** A series' time range, both ends on the grid: `[from, to)`. */
export interface UsageRange {
  from: number;
  to: number;
  granularity: Granularity;
}

/** One bucket as the API shows it: admissions, the cost units they spent, rate-limit refusals, every other refusal by code. */
export interface UsagePoint {
  admitted: number;
  units: number;
  rate_limited: number;
  refused: Record<string, number>;
}

/**
 * The one reading of counts kept by code, for the API, D1's tenant totals and the billing export:
 * `valid` is an admission, `rate_limit_exceeded` a 429 of a window, UNITS the cost spent, every
 * other code a refusal.
 */
export function usagePoint(counts: CodeCounts): UsagePoint {
  const { valid = 0, rate_limit_exceeded = 0, [UNITS]: units = 0, ...refused } = counts;
  return { admitted: valid, units, rate_limited: rate_limit_exceeded, refused };
}

/**
 * Every bucket of the range, empty ones included (a chart needs no gap-filling), from hourly
 * counts keyed by hour start; plus the totals of the range.
 */
export function denseSeries(range: UsageRange, hourly: Iterable<[number, CodeCounts]>) {
  const buckets = new Map<number, CodeCounts>();
  const total: CodeCounts = {};
  for (const [hour, counts] of hourly) {
    if (hour < range.from || hour >= range.to) continue;
    const start = bucketStart(hour, range.granularity);
    buckets.set(start, addCounts(buckets.get(start) ?? {}, counts));
    addCounts(total, counts);
  }
  const step = range.granularity === "hour" ? HOUR_MS : DAY_MS;
  const series: ({ start: number } & UsagePoint)[] = [];
  for (let start = range.from; start < range.to; start += step) series.push({ start, ...usagePoint(buckets.get(start) ?? {}) });
  return { series, totals: usagePoint(total) };
}
