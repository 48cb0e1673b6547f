/**
 * A bar chart of requests (and 429s when the data has them) as SVG built with the DOM API: no
 * library, no inline style (the CSP allows none). The numbers are also in a table for screen readers.
 */
const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 600;
const HEIGHT = 160;

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, String(value));
  if (text !== undefined) el.textContent = text;
  return el;
}

/** A point's label: its own, or its time field shortened to the hour or the day. */
function labelOf(point: Record<string, unknown>, granularity: string): string {
  if (typeof point.label === "string") return point.label;
  const time = ["start", "from", "at", "time", "bucket", "period", "date", "hour", "day"].map((k) => point[k]).find((v) => typeof v === "string" || typeof v === "number");
  if (time === undefined) return "";
  const iso = new Date(typeof time === "number" ? time : String(time)).toISOString();
  return granularity === "day" ? iso.slice(5, 10) : iso.slice(11, 16);
}

const count = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : 0);

export function usageChart(points: Record<string, unknown>[], granularity: "hour" | "day" | "totals"): HTMLElement {
  // The usage API's series says `admitted`; the older totals said `requests`.
  const rows = points.map((p) => ({ label: labelOf(p, granularity), requests: count(p.admitted ?? p.requests), limited: count(p.rate_limited) }));
  const max = Math.max(1, ...rows.map((r) => r.requests + r.limited));
  const chart = svg("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT + 20}`, role: "img", class: "chart", "aria-labelledby": "chart-desc" });
  const step = WIDTH / Math.max(rows.length, 1);
  const barWidth = Math.max(step * 0.7, 1);
  rows.forEach((row, i) => {
    const x = i * step + (step - barWidth) / 2;
    const admitted = (row.requests / max) * HEIGHT;
    const refused = (row.limited / max) * HEIGHT;
    const title = `${row.label}: ${row.requests} requests, ${row.limited} refused (429)`;
    const group = svg("g", {});
    group.append(svg("title", {}, title));
    group.append(svg("rect", { x, y: HEIGHT - admitted - refused, width: barWidth, height: refused, class: "bar-429" }));
    group.append(svg("rect", { x, y: HEIGHT - admitted, width: barWidth, height: admitted, class: "bar-ok" }));
    if (rows.length <= 12 || i % Math.ceil(rows.length / 8) === 0) group.append(svg("text", { x: x + barWidth / 2, y: HEIGHT + 15, "text-anchor": "middle", class: "axis" }, row.label));
    chart.append(group);
  });
  const total = rows.reduce((sum, r) => sum + r.requests, 0);
  const limited = rows.reduce((sum, r) => sum + r.limited, 0);
  const desc = document.createElement("p");
  desc.id = "chart-desc";
  desc.textContent =
    granularity === "totals"
      ? `Since the key was created: ${rows[0]?.requests ?? 0} requests admitted, ${rows[1]?.requests ?? 0} refused by the rate limit (429).`
      : `${total} requests admitted and ${limited} refused by the rate limit (429), by ${granularity}.`;
  const figure = document.createElement("figure");
  figure.className = "usage";
  figure.append(chart, desc);
  return figure;
}
