import { Option, type Command } from "commander";
import { TENANT_STATUSES, type TenantStatus } from "../../src/authority/tenant";
import { CliError, EXIT } from "../errors";
import { say, table, time, writeOut } from "../output";
import { idOf, parsePageSize } from "../parse";
import { quietSession, Session } from "../session";
import { addDestructive } from "./destructive";
import { moreHint } from "./lists";

const tenantId = idOf("ten", "a tenant");
/** A PATCH continues a large tenant's fan-out 500 keys at a time; this many rounds is 5 million keys. */
const MAX_FANOUT_ROUNDS = 10_000;

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
}

/** keygate writes the status to at most 500 keys per call and answers 202 until all have it. */
async function changeStatus(session: Session, id: string, status: TenantStatus, past: string): Promise<void> {
  const client = await session.client();
  for (let round = 0; round < MAX_FANOUT_ROUNDS; round++) {
    const response = await client.patch(`/tenants/${id}`, { status });
    if (response.status !== 202) {
      session.print(response, (tenant) => printTenants([tenant]));
      return say(`${past} tenant ${id}.`, session.json);
    }
    say(`Still writing the status to ${id}'s keys; continuing…`, session.json);
  }
  throw new CliError(`the status of ${id} is still being written to its keys; run the same command again.`, EXIT.refused);
}

function printTenants(tenants: any[]): void {
  table(["ID", "NAME", "STATUS", "CREATED"], tenants.map((t) => [t.id, t.name, t.status, time(t.created_at)]));
}
