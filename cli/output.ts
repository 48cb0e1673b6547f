/**
 * Standard output carries the result only (a table, the API's JSON, or a new key alone), so it can
 * be piped and captured; every message for the person at the terminal goes to standard error.
 */

export function writeOut(text: string): void {
  process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
}

/** Progress and confirmations: standard error, and nothing at all under --quiet. */
export function say(message: string, quiet = false): void {
  if (!quiet) process.stderr.write(`${message}\n`);
}

/** Columns padded to their widest cell; the last one is not padded. */
export function table(headers: string[], rows: string[][]): void {
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => (row[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  writeOut([line(headers), ...rows.map(line)].join("\n"));
}

/** One resource, a field per line. */
export function details(pairs: Array<[string, string]>): void {
  const width = Math.max(...pairs.map(([name]) => name.length));
  writeOut(pairs.map(([name, value]) => `${name.padEnd(width)}  ${value}`).join("\n"));
}

/** The API's ISO times without milliseconds; null as a word. */
export function time(iso: unknown, ifNull = "-"): string {
  if (typeof iso !== "string") return ifNull;
  return iso.replace(/\.\d+Z$/, "Z");
}

export function text(value: unknown, ifNull = "-"): string {
  if (value === null || value === undefined || value === "") return ifNull;
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** "60 per 60s", "1000 per 1h". */
export function rateLimit(value: unknown): string {
  const limit = value as { limit?: number; window_seconds?: number } | null;
  if (!limit || typeof limit.limit !== "number" || typeof limit.window_seconds !== "number") return "-";
  return `${limit.limit}/${duration(limit.window_seconds)}`;
}

export function duration(seconds: number): string {
  for (const [unit, size] of [["d", 86_400], ["h", 3600], ["m", 60]] as const) {
    if (seconds >= size && seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return `${seconds}s`;
}

/** "burst 20/1s, sustained 10000/1h": every window of a key. */
export function windows(value: unknown): string {
  if (!Array.isArray(value) || value.length === 0) return "-";
  return value.map((window: { name?: string }) => `${window.name} ${rateLimit(window)}`).join(", ");
}

/** "month" or "month from the 15th" (a refill's interval, a quota's period). */
export function period(name: string, anchorDay: number | undefined): string {
  return name === "month" && anchorDay !== undefined && anchorDay !== 1 ? `month from day ${anchorDay}` : name;
}

/** "480 left, refilled to 1000 each month (next 2026-12-01T00:00:00Z)", "500 left, no refill", or "-". */
export function credits(value: unknown): string {
  const plan = value as { remaining: number | null; refill: { amount: number; interval: string; anchor_day?: number } | null; refills_at: string | null } | null;
  if (!plan) return "-";
  const left = plan.remaining === null ? "see keys get" : `${plan.remaining} left`;
  if (!plan.refill) return `${left}, no refill`;
  return `${left}, refilled to ${plan.refill.amount} each ${period(plan.refill.interval, plan.refill.anchor_day)} (next ${time(plan.refills_at)})`;
}

/** A tenant's quota for one environment: "1000000 a month", with where it stands when known. */
export function quota(value: unknown): string {
  const q = value as { limit: number; period: string; anchor_day?: number; used: number | null; remaining: number | null; resets_at: string | null } | null;
  if (!q) return "none";
  const plan = `${q.limit} a ${period(q.period, q.anchor_day)}`;
  return q.used === null ? plan : `${plan}: ${q.used} used, ${q.remaining} left, resets ${time(q.resets_at)}`;
}
