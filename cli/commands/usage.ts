import { Option, type Command } from "commander";
import { writeFile } from "node:fs/promises";
import { EXPORT_FORMATS } from "../../src/authority/plan";
import { details, say, table, time, writeOut } from "../output";
import { idOf, parseDay, parseSince } from "../parse";
import { Session } from "../session";

/** One bucket's counts (or a period's totals) as the usage API reports them. */
interface UsagePoint {
  admitted: number;
  rate_limited: number;
  /** Other refusals, by code. */
  refused: Record<string, number>;
}

interface KeyUsage {
  key_id: string;
  requests: number;
  rate_limited: number;
  last_used_at: string | null;
  last_used_ip?: string | null;
  last_used_country?: string | null;
  /** The series: absent from a keygate that keeps totals only. */
  granularity?: "hour" | "day";
  from?: string;
  to?: string;
  series?: Array<UsagePoint & { start: string }>;
  totals?: UsagePoint;
}

export function registerUsage(program: Command): void {
  const usage = program
    .command("usage")
    .description("Show a key's usage: its totals, and each hour that had traffic (admitted, rate-limited, refused)")
    .argument("<key-id>", "the key's id (key_…)", idOf("key", "a key"))
    .option("--since <when>", "from this long ago (7d, 12h) or this date; default 24h, at most 30d", (value: string) => parseSince(value))
    .addHelpText(
      "after",
      "\nHours without any request are left out. keygate versions that only keep totals ignore --since and report the key's whole life.\n\nExample:\n  $ keygate usage key_… --since 7d",
    )
    .action(async (id: string, options: { since?: string }, command: Command) => {
      const session = new Session(command);
      // `from` is the usage API's period parameter; a keygate without periods ignores it.
      const response = await (await session.client()).get(`/keys/${id}/usage`, { from: options.since });
      session.print(response, (usage: KeyUsage) => printUsage(usage));
      if (options.since && !("from" in response.body)) say(`This keygate reports totals only: --since was not applied.`, session.json);
    });

  usage
    .command("export")
    .description("Export a tenant's usage for billing: per UTC day, requests admitted, cost units, and refusals by kind")
    .argument("<tenant>", "the tenant's id (ten_…)", idOf("ten", "a tenant"))
    .option("--from <day>", "the first day, e.g. 2026-11-01 (default: 30 days before --to)", parseDay)
    .option("--to <day>", "the last day, included (default: today)", parseDay)
    .addOption(new Option("--format <format>", "csv, a file a spreadsheet opens (the default), or json").choices(EXPORT_FORMATS))
    .option("-o, --output <file>", "write it to this file instead of standard output")
    .addHelpText("after", "\nExamples:\n  $ keygate usage export ten_… --from 2026-11-01 --to 2026-11-30 > november.csv\n  $ keygate usage export ten_… --format json --output usage.json")
    .action(async (tenant: string, options: { from?: string; to?: string; format?: string; output?: string }, command: Command) => {
      const session = new Session(command);
      const format = session.json ? "json" : (options.format ?? "csv");
      const response = await (await session.client()).get(`/tenants/${tenant}/usage/export`, { from: options.from, to: options.to, format });
      if (!options.output) return writeOut(response.text);
      await writeFile(options.output, response.text);
      say(`Wrote ${tenant}'s usage to ${options.output}.`);
    });
}

/**
 * The key's all-time counts and last use; then the period's totals and one row per bucket that
 * saw a request. A quiet hour would only be a row of zeros.
 */
function printUsage(usage: KeyUsage): void {
  const lastUse = usage.last_used_at
    ? [time(usage.last_used_at), usage.last_used_ip && `from ${usage.last_used_ip}`, usage.last_used_country && `(${usage.last_used_country})`].filter(Boolean).join(" ")
    : "never";
  const fields: Array<[string, string]> = [
    ["key", usage.key_id],
    ["all time", `${usage.requests} admitted, ${usage.rate_limited} rate limited`],
    ["last used", lastUse],
  ];
  const { series, totals } = usage;
  if (!series || !totals) return details(fields);

  fields.push(
    ["period", `${time(usage.from)} to ${time(usage.to)}, by ${usage.granularity ?? "hour"}`],
    ["admitted", String(totals.admitted)],
    ["rate limited", String(totals.rate_limited)],
    ["refused", refusals(totals.refused)],
  );
  details(fields);
  const busy = series.filter((point) => point.admitted + point.rate_limited + refusedCount(point.refused) > 0);
  if (busy.length === 0) return say("No requests in this period.");
  process.stdout.write("\n");
  table(
    [(usage.granularity ?? "hour").toUpperCase(), "ADMITTED", "RATE LIMITED", "REFUSED"],
    busy.map((point) => [time(point.start), String(point.admitted), String(point.rate_limited), refusals(point.refused)]),
  );
}

function refusedCount(byCode: Record<string, number>): number {
  return Object.values(byCode).reduce((sum, count) => sum + count, 0);
}

/** "0", or "3: revoked_key 2, insufficient_permissions 1", most frequent first. */
function refusals(byCode: Record<string, number>): string {
  const total = refusedCount(byCode);
  if (total === 0) return "0";
  const codes = Object.entries(byCode)
    .filter(([, count]) => count > 0)
    .sort(([a, x], [b, y]) => y - x || a.localeCompare(b))
    .map(([code, count]) => `${code} ${count}`);
  return `${total}: ${codes.join(", ")}`;
}
