import { Option, type Command } from "commander";
import { CLIENT_TYPES, GRANT_STATES } from "../../src/authority/oauth";
import type { ApiResponse } from "../client";
import { details, rateLimit, say, table, text, time, writeOut } from "../output";
import { collectRedirectUri, collectScope, idOf, parsePageSize, parseRateLimit, type RateLimit } from "../parse";
import { confirmDestruction } from "../prompt";
import { quietSession, Session } from "../session";
import { addDestructive } from "./destructive";
import { untilDone } from "./fanout";
import { moreHint } from "./lists";

const clientId = idOf("cli", "an OAuth client");
const grantId = idOf("grt", "a grant");
const tenantId = idOf("ten", "a tenant");
const SHOWN_ONCE = "This is the only time the client secret is shown: store it now.";

/** `keygate oauth-clients …` and `keygate oauth-grants …`: the apps acting for a tenant's users (docs/oauth.md). */
export function registerOAuth(program: Command): void {
  registerClients(program);
  registerGrants(program);
}

function registerClients(program: Command): void {
  const clients = program
    .command("oauth-clients")
    .description("Register, change and delete OAuth clients (third-party apps acting for your users)")
    .addHelpText(
      "after",
      "\nExamples:\n  $ keygate oauth-clients create --tenant ten_… --name \"Reports\" --type public --redirect-uri https://app.example.com/cb --scope read\n  $ keygate oauth-clients list --tenant ten_…",
    );

  clients
    .command("list")
    .description("List OAuth clients, newest first")
    .option("--tenant <id>", "only the apps this tenant registered (ten_…)", tenantId)
    .option("--limit <n>", "page size, 1-100", parsePageSize, 100)
    .option("--cursor <cursor>", "the next page, as printed after a full page")
    .addHelpText("after", "\nExample:\n  $ keygate oauth-clients list --tenant ten_…")
    .action(async (options: { tenant?: string; limit: number; cursor?: string }, command: Command) => {
      const session = new Session(command);
      const response = await (await session.client()).get("/oauth-clients", { tenant_id: options.tenant, limit: options.limit, cursor: options.cursor });
      session.print(response, (page) => {
        if (page.data.length === 0) return say("No OAuth clients.");
        table(
          ["CLIENT ID", "NAME", "TYPE", "TENANT", "SCOPES", "LIMIT"],
          page.data.map((c: any) => [c.id, c.name, c.type, text(c.tenant_id), c.scopes.join(","), rateLimit(c.rate_limit)]),
        );
        moreHint(page);
      });
    });

  clients
    .command("get")
    .description("Show one OAuth client")
    .argument("<id>", "the client's id (cli_…)", clientId)
    .addHelpText("after", "\nExample:\n  $ keygate oauth-clients get cli_…")
    .action(async (id: string, _options: unknown, command: Command) => {
      const session = new Session(command);
      session.print(await (await session.client()).get(`/oauth-clients/${id}`), printClient);
    });

  clients
    .command("create")
    .description("Register an app; a confidential client's secret is shown this once")
    .requiredOption("--tenant <id>", "the tenant that owns the app (ten_…)", tenantId)
    .requiredOption("--name <name>", "shown to users on the consent page")
    .addOption(new Option("--type <type>", "public (browser or native app, PKCE alone) or confidential (a server, with a secret)").choices(CLIENT_TYPES).makeOptionMandatory())
    .requiredOption("--redirect-uri <uri>", "where users are sent back, matched exactly; repeat for more", collectRedirectUri)
    .requiredOption("--scope <scope>", "a scope the app may be granted; repeat for more", collectScope)
    .option("--limit <n/window>", "each grant's rate limit, e.g. 60/60s (default: keygate's)", parseRateLimit)
    .option("-q, --quiet", "print only the client id (and its secret, tab-separated, for a confidential client)")
    .addHelpText(
      "after",
      `
Examples:
  $ keygate oauth-clients create --tenant ten_… --name "Reports" --type public --redirect-uri https://app.example.com/cb --scope read
  $ read -r CLIENT_ID CLIENT_SECRET < <(keygate oauth-clients create --tenant ten_… --name Sync --type confidential \\
      --redirect-uri https://sync.example.com/cb --scope read --scope write --quiet)`,
    )
    .action(
      async (
        options: { tenant: string; name: string; type: string; redirectUri: string[]; scope: string[]; limit?: RateLimit; quiet?: boolean },
        command: Command,
      ) => {
        const session = quietSession(command, options.quiet);
        const response = await (await session.client()).post("/oauth-clients", {
          tenant_id: options.tenant,
          name: options.name,
          type: options.type,
          redirect_uris: options.redirectUri,
          scopes: options.scope,
          rate_limit: options.limit,
        });
        printSecretOnce(session, response, options.quiet === true, `Created OAuth client ${response.body.id}.`);
      },
    );

  clients
    .command("update")
    .description("Change an app's name, redirect URIs, scopes or rate limit; scopes and limit reach its grants at once")
    .argument("<id>", "the client's id (cli_…)", clientId)
    .option("--name <name>", "the new name")
    .option("--redirect-uri <uri>", "the redirect URIs, all of them; repeat for more", collectRedirectUri)
    .option("--scope <scope>", "the scopes it may be granted, all of them; repeat for more", collectScope)
    .option("--limit <n/window>", "each grant's rate limit, e.g. 60/60s", parseRateLimit)
    .addHelpText("after", "\nExample:\n  $ keygate oauth-clients update cli_… --scope read")
    .action(async (id: string, options: { name?: string; redirectUri?: string[]; scope?: string[]; limit?: RateLimit }, command: Command) => {
      const session = new Session(command);
      const body = { name: options.name, redirect_uris: options.redirectUri, scopes: options.scope, rate_limit: options.limit };
      const client = await session.client();
      const response = await untilGrantsDone(() => client.patch(`/oauth-clients/${id}`, body), `${id}'s grants`, session);
      session.print(response, printClient);
      say(`Updated ${id}.`, session.json);
    });

  clients
    .command("secret")
    .description("Give a confidential client a new secret (shown this once); the old one stops working at once")
    .argument("<id>", "the client's id (cli_…)", clientId)
    .option("-q, --quiet", "print only the client id and the new secret, tab-separated")
    .addHelpText("after", "\nExample:\n  $ read -r CLIENT_ID CLIENT_SECRET < <(keygate oauth-clients secret cli_… --quiet)")
    .action(async (id: string, options: { quiet?: boolean }, command: Command) => {
      const session = quietSession(command, options.quiet);
      const response = await (await session.client()).post(`/oauth-clients/${id}/secret`);
      printSecretOnce(session, response, options.quiet === true, `Gave ${id} a new secret; the old one no longer works.`);
    });

  addDestructive(clients, {
    name: "delete",
    description: "Delete an app: every grant it holds is revoked, its tokens refused on their next request",
    id: { help: "the client's id (cli_…)", parse: clientId, example: "cli_…" },
    doing: "deleting",
    question: async (session, id) => {
      const client = (await (await session.client()).get(`/oauth-clients/${id}`)).body;
      return `Delete "${client.name}" (${id})? Every user's grant to it is revoked at once.`;
    },
    run: async (session, id) => {
      const client = await session.client();
      await untilGrantsDone(() => client.delete(`/oauth-clients/${id}`), `${id}'s grants`, session);
      say(`Deleted ${id}; every grant it held is revoked.`, session.json);
    },
  });
}

function registerGrants(program: Command): void {
  const grants = program
    .command("oauth-grants")
    .description("List and revoke what users let apps do (grants)")
    .addHelpText("after", "\nExamples:\n  $ keygate oauth-grants list --tenant ten_… --subject user_42\n  $ keygate oauth-grants revoke-user --tenant ten_… --subject user_42 --yes");

  grants
    .command("list")
    .description("List grants, newest first")
    .option("--tenant <id>", "only this tenant's (ten_…)", tenantId)
    .option("--client <id>", "only this app's (cli_…)", clientId)
    .option("--subject <id>", "only this user's (with --tenant)")
    .addOption(new Option("--status <status>", "only grants with this status").choices(GRANT_STATES))
    .option("--limit <n>", "page size, 1-100", parsePageSize, 100)
    .option("--cursor <cursor>", "the next page, as printed after a full page")
    .addHelpText("after", "\nExample:\n  $ keygate oauth-grants list --client cli_… --status active")
    .action(async (options: { tenant?: string; client?: string; subject?: string; status?: string; limit: number; cursor?: string }, command: Command) => {
      const session = new Session(command);
      const response = await (await session.client()).get("/oauth-grants", {
        tenant_id: options.tenant,
        client_id: options.client,
        subject: options.subject,
        status: options.status,
        limit: options.limit,
        cursor: options.cursor,
      });
      session.print(response, (page) => {
        if (page.data.length === 0) return say("No grants.");
        table(
          ["ID", "CLIENT", "TENANT", "SUBJECT", "STATUS", "SCOPES", "CREATED"],
          page.data.map((g: any) => [g.id, g.client_id, g.tenant_id, text(g.subject), g.status, g.scopes.join(","), time(g.created_at)]),
        );
        moreHint(page);
      });
    });

  addDestructive(grants, {
    name: "revoke",
    description: "Revoke a grant: the very next request with any of its tokens is refused",
    id: { help: "the grant's id (grt_…)", parse: grantId, example: "grt_…" },
    doing: "revoking",
    question: async (session, id) => {
      const grant = (await (await session.client()).get(`/oauth-grants/${id}`)).body;
      return `Revoke ${id} (app ${grant.client_id}${grant.subject ? `, user ${grant.subject}` : ""})?`;
    },
    run: async (session, id) => {
      session.print(await (await session.client()).post(`/oauth-grants/${id}/revoke`), printGrant);
      say(`Revoked ${id}.`, session.json);
    },
  });

  grants
    .command("revoke-user")
    .description("Revoke everything a user let any app do")
    .requiredOption("--tenant <id>", "the user's tenant (ten_…)", tenantId)
    .requiredOption("--subject <id>", "the user's subject id")
    .option("-y, --yes", "go ahead without asking; required when standard input is not a terminal")
    .addHelpText("after", "\nExample:\n  $ keygate oauth-grants revoke-user --tenant ten_… --subject user_42 --yes")
    .action(async (options: { tenant: string; subject: string; yes?: boolean }, command: Command) => {
      const session = new Session(command);
      await confirmDestruction(options.yes, `revoking ${options.subject}'s grants`, async () => `Revoke every grant of user ${options.subject} in ${options.tenant}?`);
      const client = await session.client();
      let revoked = 0;
      const response = await untilGrantsDone(
        async () => {
          const round = await client.post("/oauth-grants/revoke", { tenant_id: options.tenant, subject: options.subject });
          revoked += round.body.revoked;
          return round;
        },
        `${options.subject}'s grants`,
        session,
      );
      if (session.json) return writeOut(response.text);
      say(`Revoked ${revoked} grant${revoked === 1 ? "" : "s"} of ${options.subject}.`);
    });
}

/** A call that answers 202 while grants remain, repeated until it is done. */
function untilGrantsDone(call: () => Promise<ApiResponse>, what: string, session: Session): Promise<ApiResponse> {
  return untilDone(call, session.json, {
    progress: `Still writing to ${what}; continuing…`,
    stuck: `${what} are still being written; run the same command again.`,
  });
}

/** --json: the API's JSON (the secret is in it); --quiet: id and secret; else the client and its secret. */
function printSecretOnce(session: Session, response: ApiResponse, quiet: boolean, message: string): void {
  const secret: string | undefined = response.body.client_secret;
  if (session.json) return writeOut(response.text);
  if (quiet) return writeOut(secret ? `${response.body.id}\t${secret}` : response.body.id);
  printClient(response.body);
  say(secret ? `${message} ${SHOWN_ONCE}` : message);
}

function printClient(client: any): void {
  details([
    ["client id", client.id],
    ["tenant", text(client.tenant_id, "none (registered itself)")],
    ["name", client.name],
    ["type", client.type],
    ["redirect uris", client.redirect_uris.join(" ")],
    ["scopes", client.scopes.join(", ")],
    ["rate limit", rateLimit(client.rate_limit)],
    ["created", time(client.created_at)],
    ...(client.client_secret ? ([["client secret", client.client_secret]] as Array<[string, string]>) : []),
  ]);
}

function printGrant(grant: any): void {
  details([
    ["id", grant.id],
    ["client", grant.client_id],
    ["tenant", grant.tenant_id],
    ["subject", text(grant.subject, "none (client_credentials)")],
    ["status", grant.status],
    ["scopes", grant.scopes.join(", ")],
    ["rate limit", rateLimit(grant.rate_limit)],
    ["created", time(grant.created_at)],
    ...(grant.revoked_at ? ([["revoked", `${time(grant.revoked_at)} (${grant.revoked_reason})`]] as Array<[string, string]>) : []),
  ]);
}
