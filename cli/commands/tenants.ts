import { Option, type Command } from "commander";
import { ENVIRONMENTS } from "../../src/authority/key";
import { PERIODS, type Period } from "../../src/authority/plan";
import { TENANT_STATUSES, type TenantStatus } from "../../src/authority/tenant";
import { details, quota, say, table, time, writeOut } from "../output";
import { idOf, parseAnchorDay, parsePageSize, parseQuotaLimit, withAnchorDay } from "../parse";
import { quietSession, Session } from "../session";
import { addDestructive } from "./destructive";
import { untilDone } from "./fanout";
import { moreHint } from "./lists";

const tenantId = idOf("ten", "a tenant");

export function registerTenants(program: Command): void {
  const tenants = program
    .command("tenants")
    .description("List, create, suspend and reactivate tenants")
    .addHelpText("after", "\nExamples:\n  $ keygate tenants list\n  $ TENANT=$(keygate tenants create \"Acme\" --quiet)\n  $ keygate tenants suspend ten_… --yes");

  tenants
    .command("list")
    .description("List tenants, newest first")
    .addOption(new Option("--status <status>", "only tenants with this status").choices(TENANT_STATUSES))
    .option("--limit <n>", "page size, 1-100", parsePageSize, 100)
    .option("--cursor <cursor>", "the next page, as printed after a full page")
    .addHelpText("after", "\nExample:\n  $ keygate tenants list --status suspended")
    .action(async (options: { status?: string; limit: number; cursor?: string }, command: Command) => {
      const session = new Session(command);
      const response = await (await session.client()).get("/tenants", { status: options.status, limit: options.limit, cursor: options.cursor });
      session.print(response, (page) => {
        if (page.data.length === 0) return say("No tenants.");
        printTenants(page.data);
        moreHint(page);
      });
    });

  tenants
    .command("create")
    .description("Create a tenant")
    .argument("<name>", "the tenant's name")
    .option("-q, --quiet", "print only the new tenant's id")
    .addHelpText("after", '\nExample:\n  $ TENANT=$(keygate tenants create "Acme Corp" --quiet)')
    .action(async (name: string, options: { quiet?: boolean }, command: Command) => {
      const session = quietSession(command, options.quiet);
      const response = await (await session.client()).post("/tenants", { name });
      if (options.quiet) return writeOut(response.body.id);
      session.print(response, (tenant) => printTenants([tenant]));
      say(`Created tenant ${response.body.id}.`, session.json);
    });

  // Suspending cuts off every key of the tenant at once, so it is confirmed as a revocation is;
  // reactivating takes nothing away.
  addDestructive(tenants, {
    name: "suspend",
    description: "Suspend a tenant: every one of its keys is refused at once, until it is reactivated",
    id: { help: "the tenant's id (ten_…)", parse: tenantId, example: "ten_…" },
    doing: "suspending",
    question: async (session, id) => {
      const tenant = (await (await session.client()).get(`/tenants/${id}`)).body;
      return `Suspend "${tenant.name}" (${id})? Every one of its keys is refused from its next request until you reactivate it.`;
    },
    run: (session, id) => changeStatus(session, id, "suspended", "Suspended"),
  });

  tenants
    .command("activate")
    .description("Reactivate a suspended tenant")
    .argument("<id>", "the tenant's id (ten_…)", tenantId)
    .addHelpText("after", "\nExample:\n  $ keygate tenants activate ten_…")
    .action((id: string, _options: unknown, command: Command) => changeStatus(new Session(command), id, "active", "Reactivated"));

  tenants
    .command("get")
    .description("Show one tenant")
    .argument("<id>", "the tenant's id (ten_…)", tenantId)
    .addHelpText("after", "\nExample:\n  $ keygate tenants get ten_…")
    .action(async (id: string, _options: unknown, command: Command) => {
      const session = new Session(command);
      session.print(await (await session.client()).get(`/tenants/${id}`), (tenant) => printTenants([tenant]));
    });

  registerQuota(tenants);
}

function registerQuota(tenants: Command): void {
  const environment = () => new Option("--env <env>", "the environment whose keys spend from it").choices(ENVIRONMENTS).makeOptionMandatory();
  const quotas = tenants
    .command("quota")
    .description("Show, set and remove a tenant's quota: cost units per day or month, shared by every key of an environment")
    .addHelpText(
      "after",
      "\nExamples:\n  $ keygate tenants quota set ten_… --env live --limit 1000000 --period month --anchor-day 15\n  $ keygate tenants quota show ten_…",
    );

  quotas
    .command("show")
    .description("Show each environment's quota: used, left, and when it resets")
    .argument("<tenant>", "the tenant's id (ten_…)", tenantId)
    .addHelpText("after", "\nExample:\n  $ keygate tenants quota show ten_…")
    .action(async (id: string, _options: unknown, command: Command) => {
      const session = new Session(command);
      session.print(await (await session.client()).get(`/tenants/${id}`), printQuotas);
    });

  quotas
    .command("set")
    .description("Set an environment's quota; in force for the next request of every key of that environment")
    .argument("<tenant>", "the tenant's id (ten_…)", tenantId)
    .addOption(environment())
    .requiredOption("--limit <units>", "cost units the environment's keys may spend together per period", parseQuotaLimit)
    .addOption(new Option("--period <period>", "when it resets (UTC)").choices(PERIODS).makeOptionMandatory())
    .option("--anchor-day <day>", "with --period month: the day of the month it resets (1-31; default 1)", parseAnchorDay)
    .addHelpText("after", "\nExample:\n  $ keygate tenants quota set ten_… --env live --limit 1000000 --period month --anchor-day 15")
    .action(async (id: string, options: { env: string; limit: number; period: Period; anchorDay?: number }, command: Command) => {
      const body = withAnchorDay({ limit: options.limit, period: options.period }, options.period, options.anchorDay);
      await changeQuota(new Session(command), id, { [options.env]: body }, `Set the ${options.env} quota of ${id}.`);
    });

  quotas
    .command("remove")
    .description("Remove an environment's quota: its keys no longer spend from one")
    .argument("<tenant>", "the tenant's id (ten_…)", tenantId)
    .addOption(environment())
    .addHelpText("after", "\nExample:\n  $ keygate tenants quota remove ten_… --env test")
    .action(async (id: string, options: { env: string }, command: Command) => {
      await changeQuota(new Session(command), id, { [options.env]: null }, `Removed the ${options.env} quota of ${id}.`);
    });
}

async function changeQuota(session: Session, id: string, quotas: Record<string, unknown>, done: string): Promise<void> {
  const response = await untilFannedOut(session, id, { quotas }, "the quota");
  session.print(response, printQuotas);
  say(done, session.json);
}

function printQuotas(tenant: any): void {
  details([["tenant", `${tenant.id} (${tenant.name})`], ...ENVIRONMENTS.map((env): [string, string] => [env, quota(tenant.quotas?.[env] ?? null)])]);
}

async function changeStatus(session: Session, id: string, status: TenantStatus, past: string): Promise<void> {
  const response = await untilFannedOut(session, id, { status }, "the status");
  session.print(response, (tenant) => printTenants([tenant]));
  say(`${past} tenant ${id}.`, session.json);
}

/** keygate writes a status or a quota to at most 500 keys per call and answers 202 until all have it. */
async function untilFannedOut(session: Session, id: string, body: object, what: string) {
  const client = await session.client();
  return untilDone(() => client.patch(`/tenants/${id}`, body), session.json, {
    progress: `Still writing ${what} to ${id}'s keys; continuing…`,
    stuck: `${what} of ${id} is still being written to its keys; run the same command again.`,
  });
}

function printTenants(tenants: any[]): void {
  const quotas = (t: any) => ENVIRONMENTS.filter((env) => t.quotas?.[env]).map((env) => `${env} ${t.quotas[env].limit}/${t.quotas[env].period}`).join(", ") || "-";
  table(["ID", "NAME", "STATUS", "QUOTAS", "CREATED"], tenants.map((t) => [t.id, t.name, t.status, quotas(t), time(t.created_at)]));
}
