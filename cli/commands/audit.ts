import type { Command } from "commander";
import { say, table, time } from "../output";
import { idOf, parsePageSize } from "../parse";
import { Session } from "../session";
import { moreHint } from "./lists";

export function registerAudit(program: Command): void {
  program
    .command("audit")
    .description("Show the audit trail, newest first: who did what to which resource, when, in which request")
    .option("--actor <id>", '"root", an admin id (adm_…), a key id (key_…) or a client address')
    .option("--action <action>", "e.g. key.revoked, tenant.suspended, signin.failed")
    .option("--tenant <id>", "only events of this tenant (ten_…)", idOf("ten", "a tenant"))
    .option("--resource <id>", "only events about this resource (a key, tenant or admin id)")
    .option("--limit <n>", "how many events, 1-100", parsePageSize, 20)
    .option("--cursor <cursor>", "the next page, as printed after a full page")
    .addHelpText("after", "\nExamples:\n  $ keygate audit --action key.revoked --limit 50\n  $ keygate audit --actor adm_… --json | jq '.data[].action'")
    .action(async (options: { actor?: string; action?: string; tenant?: string; resource?: string; limit: number; cursor?: string }, command: Command) => {
      const session = new Session(command);
      const response = await (await session.client()).get("/audit-events", {
        actor_id: options.actor,
        action: options.action,
        tenant_id: options.tenant,
        resource_id: options.resource,
        limit: options.limit,
        cursor: options.cursor,
      });
      session.print(response, (page) => {
        if (page.data.length === 0) return say("No audit events.");
        table(
          ["TIME", "ACTION", "ACTOR", "RESOURCE", "REQUEST"],
          page.data.map((e: any) => [time(e.created_at), e.action, `${e.actor.type}:${e.actor.id}`, `${e.resource.type}:${e.resource.id}`, e.request_id]),
        );
        moreHint(page);
      });
    });
}
