import type { Calendar } from "../authority/plan";

const DAY_MS = 86_400_000;

/** A stretch of time, `[start, end)`, in Unix ms. */
export interface Span {
  start: number;
  end: number;
}

/**
 * The calendar period `at` falls in, in UTC: the day, or the month that began on the anchor day
 * (a month without that day begins on its last day: an anchor of 31 is 28 February, 30 April).
 */
export function periodAt(at: number, calendar: Calendar): Span {
  if (calendar.period === "day") {
    const start = Math.floor(at / DAY_MS) * DAY_MS;
    return { start, end: start + DAY_MS };
  }
  const anchor = calendar.anchorDay ?? 1;
  const date = new Date(at);
  const year = date.getUTCFullYear();
  const month = date.getUTCMonth();
  const thisMonths = anchorIn(year, month, anchor);
  if (at >= thisMonths) return { start: thisMonths, end: anchorIn(year, month + 1, anchor) };
  return { start: anchorIn(year, month - 1, anchor), end: thisMonths };
}

/** Midnight UTC of the anchor day in a month (months past December or before January roll the year). */
function anchorIn(year: number, month: number, anchor: number): number {
  const daysInMonth = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  return Date.UTC(year, month, Math.min(anchor, daysInMonth));
}
