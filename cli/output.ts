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
