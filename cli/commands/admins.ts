import { Option, type Command } from "commander";
import { ADMIN_ROLES, ROLE_SUMMARIES } from "../../src/authority/roles";
import { UsageError } from "../errors";
import { say, table, time } from "../output";
import { idOf, parsePageSize } from "../parse";
import { interactive, readSecret } from "../prompt";
import { Session } from "../session";
import { addDestructive } from "./destructive";
import { moreHint } from "./lists";

const MIN_PASSWORD_LENGTH = 12;

export function registerAdmins(program: Command): void {
  const admins = program
    .command("admins")
    .description("List, create and remove admin users (owners, or the root token)")
    .addHelpText(
      "after",
      "\nExamples:\n  $ keygate admins list\n  $ printf '%s\\n' \"$PASSWORD\" | keygate admins create ops@example.com --role owner",
    );

  admins
    .command("list")
    .description("List admin users")
    .option("--limit <n>", "page size, 1-100", parsePageSize, 100)
    .option("--cursor <cursor>", "the next page, as printed after a full page")
    .addHelpText("after", "\nExample:\n  $ keygate admins list --json")
    .action(async (options: { limit: number; cursor?: string }, command: Command) => {
      const session = new Session(command);
      const response = await (await session.client()).get("/admins", { limit: options.limit, cursor: options.cursor });
      session.print(response, (page) => {
        if (page.data.length === 0) return say("No admins.");
        printAdmins(page.data);
        moreHint(page);
      });
    });

  admins
    .command("create")
    .description("Create an admin user; the password is asked for (never taken from the command line)")
    .argument("<email>", "the admin's email, which they sign in with")
    .addOption(new Option("--role <role>", "what the admin may do (see Roles below)").choices(ADMIN_ROLES).makeOptionMandatory())
    .addHelpText(
      "after",
      `
Roles:
${roleList()}

At a terminal the password is asked for twice, without echo; otherwise it is the first line of
standard input. At least ${MIN_PASSWORD_LENGTH} characters.

Examples:
  $ keygate admins create dana@example.com --role viewer
  $ printf '%s\\n' "$PASSWORD" | keygate admins create checks@example.com --role verifier
  $ printf '%s\\n' "$PASSWORD" | KEYGATE_TOKEN=$ADMIN_TOKEN keygate admins create ops@example.com --role owner`,
    )
    .action(async (email: string, options: { role: string }, command: Command) => {
      const session = new Session(command);
      const client = await session.client();
      const password = await readSecret(`Password for ${email}: `, "password");
      if (interactive() && (await readSecret("Again: ", "password")) !== password) throw new UsageError("the two passwords differ.");
      if ([...password].length < MIN_PASSWORD_LENGTH) throw new UsageError(`the password must be at least ${MIN_PASSWORD_LENGTH} characters.`);
      const response = await client.post("/admins", { email, password, role: options.role });
      session.print(response, (admin) => printAdmins([admin]));
      say(`Created ${options.role} ${response.body.email} (${response.body.id}).`, session.json);
    });

  addDestructive(admins, {
    name: "remove",
    description: "Delete an admin user; their tokens stop working at once",
    id: { help: "the admin's id (adm_…)", parse: idOf("adm", "an admin"), example: "adm_…" },
    doing: "removing",
    question: async (session, id) => {
      const admin = (await (await session.client()).get(`/admins/${id}`)).body;
      return `Remove ${admin.role} ${admin.email} (${id})?`;
    },
    run: async (session, id) => {
      await (await session.client()).delete(`/admins/${id}`);
      say(`Removed ${id}.`, session.json);
    },
  });
}

/** Each role and what it may do, one a line, for the help. */
function roleList(): string {
  const width = Math.max(...ADMIN_ROLES.map((role) => role.length));
  return ADMIN_ROLES.map((role) => `  ${role.padEnd(width)}  ${ROLE_SUMMARIES[role]}`).join("\n");
}

function printAdmins(admins: any[]): void {
  table(
    ["ID", "EMAIL", "ROLE", "LAST SIGN-IN", "CREATED"],
    admins.map((a) => [a.id, a.email, a.role, time(a.last_signin_at, "never"), time(a.created_at)]),
  );
}
