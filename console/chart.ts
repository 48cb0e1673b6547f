import { h } from "./dom";
import { count } from "./format";

/**
 * A stacked bar chart of a usage series (admitted, rate limited, other refusals per bucket) as SVG
 * built with the DOM API: no library, no inline style (the CSP allows none). It is drawn at the
 * width it is given, one SVG unit to a CSS pixel, and redrawn when that width changes, so its
 * text stays the page's size on a phone and a laptop alike and no label is cut at an edge.
 */
const SVG = "http://www.w3.org/2000/svg";
const HEIGHT = 200;
const MARGIN = { top: 10, right: 12, bottom: 24, left: 44 };
/** Room each x-axis label needs, in pixels. */
const LABEL_ROOM = 64;

export interface UsagePoint { start: string; admitted: number; rate_limited: number; refused: Record<string, number> }

const SERIES = [
  { key: "admitted", label: "Admitted", className: "bar-ok" },
  { key: "rate_limited", label: "Rate limited (429)", className: "bar-429" },
  { key: "refused", label: "Other refusals", className: "bar-refused" },
] as const;
type SeriesKey = (typeof SERIES)[number]["key"];

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, String(value));
  if (text !== undefined) el.textContent = text;
  return el;
}

const sum = (values: Iterable<number>) => [...values].reduce((a, b) => a + b, 0);

/** The bar's three parts, bottom up. */
function parts(point: UsagePoint): Record<SeriesKey, number> {
  return { admitted: point.admitted, rate_limited: point.rate_limited, refused: sum(Object.values(point.refused)) };
}

/** The smallest 1, 2 or 5 × 10ⁿ at or above `max`: an axis top a person reads at a glance. */
function niceCeiling(max: number): number {
  if (max <= 4) return 4;
  const power = 10 ** Math.floor(Math.log10(max));
  return [1, 2, 2.5, 5, 10].map((f) => f * power).find((v) => v >= max)!;
}

/** A bucket's axis label: the hour (with the date at midnight) or the day, in UTC. */
function bucketLabel(iso: string, granularity: "hour" | "day"): string {
  const text = new Date(iso).toISOString();
  if (granularity === "day") return text.slice(5, 10);
  return text.slice(11, 13) === "00" ? text.slice(5, 10) : text.slice(11, 16);
}

function draw(points: UsagePoint[], granularity: "hour" | "day", width: number): SVGSVGElement {
  const chart = svg("svg", { viewBox: `0 0 ${width} ${HEIGHT}`, width, height: HEIGHT, class: "chart", "aria-hidden": "true", focusable: "false" });
  const plotWidth = width - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const rows = points.map(parts);
  const top = niceCeiling(Math.max(0, ...rows.map((r) => sum(Object.values(r)))));
  const y = (value: number) => MARGIN.top + plotHeight - (value / top) * plotHeight;

  for (const tick of [0, top / 4, top / 2, (3 * top) / 4, top]) {
    chart.append(svg("line", { x1: MARGIN.left, x2: width - MARGIN.right, y1: y(tick), y2: y(tick), class: tick === 0 ? "axis-line" : "grid" }));
    if (Number.isInteger(tick)) chart.append(svg("text", { x: MARGIN.left - 6, y: y(tick) + 4, "text-anchor": "end", class: "axis" }, count(tick)));
  }

  const step = plotWidth / Math.max(points.length, 1);
  const barWidth = Math.max(Math.min(step * 0.75, 28), 1);
  const every = Math.max(1, Math.ceil(LABEL_ROOM / step));
  points.forEach((point, i) => {
    const x = MARGIN.left + i * step + (step - barWidth) / 2;
    const group = svg("g", {});
    const row = rows[i]!;
    group.append(
      svg(
        "title",
        {},
        `${new Date(point.start).toISOString().replace("T", " ").slice(0, granularity === "hour" ? 16 : 10)} UTC: ` +
          `${count(row.admitted)} admitted, ${count(row.rate_limited)} rate limited, ${count(row.refused)} other refusals`,
      ),
    );
    let base = 0;
    for (const series of SERIES) {
      const value = row[series.key];
      if (value > 0) group.append(svg("rect", { x, y: y(base + value), width: barWidth, height: y(base) - y(base + value), class: series.className }));
      base += value;
    }
    // Labels counted back from the newest bucket, so the latest time is always named.
    if ((points.length - 1 - i) % every === 0) {
      const center = x + barWidth / 2;
      const clamped = Math.min(Math.max(center, MARGIN.left + LABEL_ROOM / 2 - 8), width - MARGIN.right - LABEL_ROOM / 2 + 8);
      group.append(svg("text", { x: clamped, y: HEIGHT - 6, "text-anchor": "middle", class: "axis" }, bucketLabel(point.start, granularity)));
    }
    chart.append(group);
  });
  if (rows.every((r) => sum(Object.values(r)) === 0)) {
    chart.append(svg("text", { x: MARGIN.left + plotWidth / 2, y: MARGIN.top + plotHeight / 2, "text-anchor": "middle", class: "chart-empty" }, "No requests in this period"));
  }
  return chart;
}

/**
 * The chart with its legend (each series' colour and total) and a sentence for screen readers;
 * `title` says what is counted over which stretch of time.
 */
export function usageChart(points: UsagePoint[], granularity: "hour" | "day", title: string): HTMLElement {
  const totals = points.map(parts).reduce<Record<SeriesKey, number>>(
    (into, row) => ({ admitted: into.admitted + row.admitted, rate_limited: into.rate_limited + row.rate_limited, refused: into.refused + row.refused }),
    { admitted: 0, rate_limited: 0, refused: 0 },
  );
  const legend = h(
    "ul",
    { class: "legend" },
    ...SERIES.map((series) => h("li", {}, h("span", { class: `swatch ${series.className}`, "aria-hidden": "true" }), `${series.label} `, h("strong", {}, count(totals[series.key])))),
  );
  const frame = h("div", { class: "chart-frame" });
  const summary = `${title}: ${count(totals.admitted)} admitted, ${count(totals.rate_limited)} rate limited (429), ${count(totals.refused)} other refusals, by ${granularity} (UTC).`;
  const figure = h("figure", { class: "usage", role: "group", "aria-label": summary }, h("figcaption", {}, title, h("span", { class: "muted" }, ` · per ${granularity}, UTC`)), legend, frame);
  let drawnWidth = 0;
  const redraw = (width: number) => {
    width = Math.floor(width);
    if (width <= 0 || width === drawnWidth) return;
    drawnWidth = width;
    frame.replaceChildren(draw(points, granularity, width));
  };
  new ResizeObserver((entries) => redraw(entries[0]!.contentRect.width)).observe(frame);
  return figure;
}
