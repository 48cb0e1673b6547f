import { Command } from "commander";
import { DEFAULT_URL } from "./client";
import { registerAdmins } from "./commands/admins";
import { registerAudit } from "./commands/audit";
import { registerAuth } from "./commands/auth";
import { registerKeys } from "./commands/keys";
import { registerOAuth } from "./commands/oauth";
import { registerTenants } from "./commands/tenants";
import { registerUsage } from "./commands/usage";

/** Put in by the build (cli/build.mjs) from package.json. */
declare const KEYGATE_VERSION: string;

/**
 * The whole command tree. Settings made here before any `.command()` (error output, exitOverride,
 * help) are inherited by every subcommand, so each usage error ends the same way: one line on
 * standard error and a CommanderError that keygate.ts turns into exit code 2.
 */
export function buildProgram(): Command {
  const program = new Command("keygate")
    .description("keygate's admin API from a terminal: sign in, tenants, keys, OAuth clients and grants, usage, audit and admins.")
    .version(typeof KEYGATE_VERSION === "string" ? KEYGATE_VERSION : "dev", "-V, --version")
    .option("--url <url>", `keygate's address (env KEYGATE_URL; default ${DEFAULT_URL})`)
    .option("--json", "print the API's JSON exactly as keygate sent it, for scripts")
    .configureHelp({ showGlobalOptions: true })
    .configureOutput({ outputError: (message, write) => write(`keygate: ${oneLine(message)}\n`) })
    .showSuggestionAfterError()
    .exitOverride()
    .addHelpText(
      "after",
      `
Credentials: KEYGATE_TOKEN (the root ADMIN_TOKEN, an admin's JWT or a keys:manage key) if set,
otherwise the token stored by \`keygate login\` for --url.
Exit codes: 0 done, 1 keygate refused, 2 bad usage, 3 keygate not reachable.

Example:
  $ keygate login --url http://127.0.0.1:8787
  $ keygate tenants create "Acme" --quiet`,
    );

  registerAuth(program);
  registerTenants(program);
  registerKeys(program);
  registerOAuth(program);
  registerUsage(program);
  registerAudit(program);
  registerAdmins(program);
  return program;
}

/** Commander's "error: …" plus its "(Did you mean …?)" line, as one line. */
function oneLine(message: string): string {
  return message.replace(/^error: /, "").trim().replace(/\s*\n\s*/g, " ");
}
