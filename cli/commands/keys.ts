import { Option, type Command } from "commander";
import { DEFAULT_ENVIRONMENT, ENVIRONMENTS } from "../../src/authority/key";
import { MAX_WINDOWS, PERIODS } from "../../src/authority/plan";
import { DEFAULT_SCOPES } from "../../src/authority/scopes";
import { KEY_STATES } from "../../src/authority/status";
import type { AdminClient } from "../client";
import { UsageError } from "../errors";
import { credits, details, duration, say, table, text, time, windows, writeOut } from "../output";
import {
  collectScope,
  collectWindow,
  idOf,
  namedWindows,
  parseAnchorDay,
  parseCredits,
  parseExpiry,
  parseGrace,
  parsePageSize,
  parseRateLimit,
  parseRefill,
  withAnchorDay,
  type RateLimit,
  type RateWindow,
  type Refill,
} from "../parse";
import { quietSession, Session } from "../session";
import { addDestructive } from "./destructive";
import { moreHint } from "./lists";

const keyId = idOf("key", "a key");
const tenantId = idOf("ten", "a tenant");
const SHOWN_ONCE = "This is the only time the key is shown: store it now.";
/** --quiet gives scripts the new key's id too, which rotate, revoke and usage need. */
const QUIET_HELP = "print only the new key's id and the key itself, tab-separated on one line";

export function registerKeys(program: Command): void {
  const keys = program
    .command("keys")
    .description("List, create, rotate, revoke and delete API keys")
    .addHelpText(
      "after",
      "\nExamples:\n  $ keygate keys list --tenant ten_…\n  $ read -r KEY_ID KEY < <(keygate keys create --tenant ten_… --scope read --quiet)\n  $ keygate keys rotate key_… --grace 15m",
    );

  keys
    .command("list")
    .description("List a tenant's keys, newest first (never the keys themselves, only their display form)")
    .requiredOption("--tenant <id>", "the tenant's id (ten_…)", tenantId)
    .addOption(new Option("--status <status>", "only keys with this status (default: all but deleted)").choices(KEY_STATES))
    .addOption(new Option("--environment <env>", "only keys of this environment").choices(ENVIRONMENTS))
    .option("--limit <n>", "page size, 1-100", parsePageSize, 100)
    .option("--cursor <cursor>", "the next page, as printed after a full page")
    .addHelpText("after", "\nExample:\n  $ keygate keys list --tenant ten_… --status active --environment live")
    .action(async (options: { tenant: string; status?: string; environment?: string; limit: number; cursor?: string }, command: Command) => {
      const session = new Session(command);
      const response = await (await session.client()).get("/keys", {
        tenant_id: options.tenant,
        status: options.status,
        environment: options.environment,
        limit: options.limit,
        cursor: options.cursor,
      });
      session.print(response, (page) => {
        if (page.data.length === 0) return say("No keys.");
        table(
          ["ID", "NAME", "ENV", "STATUS", "KEY", "SCOPES", "LIMITS", "EXPIRES"],
          page.data.map((k: any) => [k.id, text(k.name), k.environment, k.status, k.display, k.scopes.join(","), windows(k.rate_limits), time(k.expires_at, "never")]),
        );
        moreHint(page);
      });
    });

  keys
    .command("get")
    .description("Show one key")
    .argument("<id>", "the key's id (key_…)", keyId)
    .addHelpText("after", "\nExample:\n  $ keygate keys get key_…")
    .action(async (id: string, _options: unknown, command: Command) => {
      const session = new Session(command);
      session.print(await (await session.client()).get(`/keys/${id}`), printKey);
    });

  keys
    .command("create")
    .description("Create a key; its plaintext is shown this once")
    .requiredOption("--tenant <id>", "the tenant's id (ten_…)", tenantId)
    .option("--name <name>", "a name to recognise it by")
    .option("--description <text>", "a longer note")
    .addOption(new Option("--environment <env>", `where the key is used (default: ${DEFAULT_ENVIRONMENT})`).choices(ENVIRONMENTS))
    .option("--scope <scope>", `a scope the key holds; repeat for more (default: ${DEFAULT_SCOPES.join(", ")})`, collectScope)
    .option("--expires <when>", "expire after a duration (30d, 12h, 15m) or at a date (2026-12-31)", (value: string) => parseExpiry(value))
    .option("--limit <n/window>", "one rate limit as requests per window, e.g. 60/60s or 1000/1h (default: keygate's)", parseRateLimit)
    .option(
      "--window <[name=]n/window>",
      `a named rate window, e.g. burst=20/1s; repeat for up to ${MAX_WINDOWS} (a window without a name is named by its length, per-1h)`,
      collectWindow,
    )
    .option("--credits <n>", "credits the key starts with; each request spends its route's cost", parseCredits)
    .option("--refill <n/period>", `with --credits: what they are set back to each period, e.g. 1000/month (${PERIODS.join(", ")})`, parseRefill)
    .option("--anchor-day <day>", "with a monthly --refill: the day of the month it comes (1-31)", parseAnchorDay)
    .addOption(new Option("-q, --quiet", QUIET_HELP))
    .addHelpText(
      "after",
      `
Examples:
  $ read -r KEY_ID KEY < <(keygate keys create --tenant ten_… --name billing --scope read --expires 90d --limit 600/1m --quiet)
  $ keygate keys create --tenant ten_… --window burst=20/1s --window sustained=10000/1h --credits 500 --refill 1000/month
  $ KEY=$(keygate keys create --tenant ten_… --quiet | cut -f2)
  $ keygate keys create --tenant ten_… --environment test --json > key.json`,
    )
    .action(
      async (
        options: {
          tenant: string;
          name?: string;
          description?: string;
          environment?: string;
          scope?: string[];
          expires?: string;
          limit?: RateLimit;
          window?: RateWindow[];
          credits?: number;
          refill?: Refill;
          anchorDay?: number;
          quiet?: boolean;
        },
        command: Command,
      ) => {
        if (options.limit && options.window) throw new UsageError("--limit and --window cannot be used together: --limit is one window.");
        if (options.credits === undefined && (options.refill || options.anchorDay !== undefined)) throw new UsageError("--refill and --anchor-day need --credits.");
        const session = quietSession(command, options.quiet);
        const response = await (await session.client()).post("/keys", {
          tenant_id: options.tenant,
          name: options.name,
          description: options.description,
          environment: options.environment,
          scopes: options.scope,
          expires_at: options.expires,
          rate_limit: options.limit,
          rate_limits: options.window && namedWindows(options.window),
          credits: options.credits === undefined ? undefined : creditsBody(options.credits, options.refill, options.anchorDay),
        });
        printNewKey(session, response, options.quiet === true, `Created key ${response.body.id}.`);
      },
    );

  keys
    .command("rotate")
    .description("Replace a key with a new one of the same settings; the old one keeps working for --grace")
    .argument("<id>", "the key's id (key_…)", keyId)
    .option("--grace <duration>", "how long the old key keeps working: 0 (default) ends it now; up to 30d", parseGrace)
    .addOption(new Option("-q, --quiet", QUIET_HELP))
    .addHelpText("after", "\nExample:\n  $ read -r NEW_ID NEW_KEY < <(keygate keys rotate key_… --grace 15m --quiet)")
    .action(async (id: string, options: { grace?: number; quiet?: boolean }, command: Command) => {
      const session = quietSession(command, options.quiet);
      const response = await (await session.client()).post(`/keys/${id}/rotate`, options.grace === undefined ? {} : { grace_seconds: options.grace });
      const until = options.grace ? `it keeps working for ${duration(options.grace)} more` : "it stopped working now";
      printNewKey(session, response, options.quiet === true, `Rotated ${id} to ${response.body.id}; ${until}.`);
    });

  registerCredits(keys);

  const keyArgument = { help: "the key's id (key_…)", parse: keyId, example: "key_…" };
  addDestructive(keys, {
    name: "revoke",
    description: "Revoke a key: its very next request is refused, everywhere",
    id: keyArgument,
    doing: "revoking",
    question: async (session, id) => `Revoke ${await describeKey(await session.client(), id)}?`,
    run: async (session, id) => {
      session.print(await (await session.client()).post(`/keys/${id}/revoke`), printKey);
      say(`Revoked ${id}.`, session.json);
    },
  });

  addDestructive(keys, {
    name: "delete",
    description: "Delete a key: its very next request is refused, and it no longer appears in lists",
    id: keyArgument,
    doing: "deleting",
    question: async (session, id) => `Delete ${await describeKey(await session.client(), id)}?`,
    run: async (session, id) => {
      await (await session.client()).delete(`/keys/${id}`); // 204: no body, so --json prints nothing either
      say(`Deleted ${id}.`, session.json);
    },
  });
}

/** --json: the API's JSON (the key is in it); --quiet: id and key; else the key's fields and the key. */
function printNewKey(session: Session, response: { text: string; body: any }, quiet: boolean, message: string): void {
  if (session.json) return writeOut(response.text);
  if (quiet) return writeOut(`${response.body.id}\t${response.body.key}`);
  printKey(response.body);
  say(`${message} ${SHOWN_ONCE}`);
}

function printKey(key: any): void {
  details([
    ["id", key.id],
    ["tenant", key.tenant_id],
    ["name", text(key.name)],
    ["environment", key.environment],
    ["status", key.status],
    ["display", key.display],
    ["scopes", key.scopes.join(", ") || "-"],
    ["rate limits", windows(key.rate_limits)],
    ["credits", credits(key.credits)],
    ["expires", time(key.expires_at, "never")],
    ["created", time(key.created_at)],
    ...(key.revoked_at ? ([["revoked", time(key.revoked_at)]] as Array<[string, string]>) : []),
    ...(key.rotated_from ? ([["rotated from", key.rotated_from]] as Array<[string, string]>) : []),
    ...(key.rotated_to ? ([["rotated to", key.rotated_to]] as Array<[string, string]>) : []),
    ...(key.key ? ([["key", key.key]] as Array<[string, string]>) : []),
  ]);
}

/** Which key a question is about, as the person at the terminal recognises it. */
async function describeKey(client: AdminClient, id: string): Promise<string> {
  const key = (await client.get(`/keys/${id}`)).body;
  return `${id}${key.name ? ` "${key.name}"` : ""} (${key.display}, tenant ${key.tenant_id})`;
}

/** The API's credits: what the key has from now, and its refill (an anchor day for months only). */
function creditsBody(remaining: number, refill: Refill | undefined, anchorDay: number | undefined) {
  if (!refill && anchorDay !== undefined) throw new UsageError("--anchor-day needs a monthly --refill.");
  return { remaining, refill: refill ? withAnchorDay(refill, refill.interval, anchorDay) : undefined };
}

function registerCredits(keys: Command): void {
  const credit = keys
    .command("credits")
    .description("Show, set and remove a key's credits: each request spends its route's cost, refused with 429 usage_exceeded when none are left")
    .addHelpText("after", "\nExamples:\n  $ keygate keys credits set key_… --remaining 500 --refill 1000/month\n  $ keygate keys credits show key_…");

  credit
    .command("show")
    .description("Show what a key has left, and its refill")
    .argument("<id>", "the key's id (key_…)", keyId)
    .addHelpText("after", "\nExample:\n  $ keygate keys credits show key_…")
    .action(async (id: string, _options: unknown, command: Command) => {
      const session = new Session(command);
      session.print(await (await session.client()).get(`/keys/${id}`), (key) => printCredits(key));
    });

  credit
    .command("set")
    .description("Set the credits a key has from now (in force for its next request), and its refill")
    .argument("<id>", "the key's id (key_…)", keyId)
    .requiredOption("--remaining <n>", "the credits the key has from now", parseCredits)
    .option("--refill <n/period>", `what they are set back to each period, e.g. 1000/month (${PERIODS.join(", ")}); default: no refill`, parseRefill)
    .option("--anchor-day <day>", "with a monthly --refill: the day of the month it comes (1-31; default 1)", parseAnchorDay)
    .addHelpText("after", "\nExamples:\n  $ keygate keys credits set key_… --remaining 500\n  $ keygate keys credits set key_… --remaining 1000 --refill 1000/month --anchor-day 15")
    .action(async (id: string, options: { remaining: number; refill?: Refill; anchorDay?: number }, command: Command) => {
      const credits = creditsBody(options.remaining, options.refill, options.anchorDay);
      const session = new Session(command);
      const response = await (await session.client()).patch(`/keys/${id}`, { credits });
      session.print(response, (key) => printCredits(key));
      say(`Set the credits of ${id}.`, session.json);
    });

  credit
    .command("remove")
    .description("Remove a key's credits: its requests no longer spend any")
    .argument("<id>", "the key's id (key_…)", keyId)
    .addHelpText("after", "\nExample:\n  $ keygate keys credits remove key_…")
    .action(async (id: string, _options: unknown, command: Command) => {
      const session = new Session(command);
      session.print(await (await session.client()).patch(`/keys/${id}`, { credits: null }), (key) => printCredits(key));
      say(`Removed the credits of ${id}.`, session.json);
    });
}

function printCredits(key: any): void {
  details([
    ["key", key.id],
    ["credits", key.credits ? credits(key.credits) : "none: its requests spend no credits"],
  ]);
}
