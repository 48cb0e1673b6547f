// `npm run dev`: keygate on this machine, ready to curl and to sign in to.
// Refuses to start (exit 2, one plain sentence) when its port is taken or another keygate runs on
// the same local state. Otherwise creates .dev.vars (random secrets, the console owner's password)
// if needed, applies the migrations in migrations/ to the local D1 (an older .wrangler/state is
// upgraded in place), starts the demo origin and `wrangler dev`, makes sure of the demo tenant,
// its key and the console's owner, and prints how to call it, once its own wrangler answers.
// The start-up itself is startDev in scripts/local.mjs, which the end-to-end tests run too.
//   --port, PORT                keygate's port (default 8787)
//   --origin-port, ORIGIN_PORT  the demo origin's port (default 8788, the ORIGIN_URL in wrangler.toml)
//   --persist-to <dir>          the local state (default .wrangler/state)
//   --dev-vars <file>           the secrets file (default .dev.vars)
// With ORIGIN_URL set in .dev.vars (and no origin port given), keygate fronts that API instead of the demo.
import { DEFAULT_PORT, DEV_VARS_PATH, parseCommandLine, parsePort, runUntilStopped, startDev, watchDevVars } from "./local.mjs";
import { displayPath } from "./settings-checks.mjs";

const HOST = "127.0.0.1";
const USAGE = "usage: npm run dev [-- --port <port>] [--origin-port <port>] [--persist-to <dir>] [--dev-vars <file>]";

await runUntilStopped("keygate", async ({ onStop, shutdown, isStopping }) => {
  const options = parseCommandLine(
    process.argv.slice(2),
    {
      port: { type: "port" },
      "origin-port": { type: "port" },
      "persist-to": { type: "string" },
      "dev-vars": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    USAGE,
  );
  if (options.help) {
    console.log(USAGE);
    return shutdown(0);
  }
  const port = options.port ?? envPort("PORT") ?? DEFAULT_PORT;
  const originPort = options["origin-port"] ?? envPort("ORIGIN_PORT");
  const devVarsPath = options["dev-vars"] ?? DEV_VARS_PATH;

  const dev = await startDev({
    port,
    ip: HOST,
    originPort,
    persistTo: options["persist-to"],
    devVarsPath,
    output: "inherit",
    log: (line) => console.log(`keygate: ${line}`),
  });
  onStop(() => dev.stop());
  dev.wrangler.process.once("exit", (code) => {
    if (isStopping()) return;
    console.error(`keygate: wrangler dev exited (${code ?? "signal"})`);
    shutdown(code || 1);
  });

  printBanner(dev, displayPath(dev.devVarsPath), displayPath(dev.stateDir));

  // wrangler dev read the file once, at start: say so the moment it no longer matches.
  onStop(
    watchDevVars(dev.devVarsPath, dev.vars, (names) => {
      const file = displayPath(dev.devVarsPath);
      if (names.length === 0) console.log(`keygate: ${file} matches the running keygate again.`);
      else console.log(`keygate: ${file} changed (${names.join(", ")}): restart to apply (Ctrl-C, then npm run dev). The running keygate still uses the values it started with.`);
    }),
  );
});

function envPort(name) {
  const text = process.env[name];
  return text === undefined ? undefined : parsePort(text, `${name}=${text}`);
}

function printBanner({ url, ownOrigin, originUrl, vars, tenant, key, keyReused, consoleOwner, oauthDemo }, devVars, state) {
  const k = key.key;
  const adminToken = vars.ADMIN_TOKEN;
  const originNote = ownOrigin ? `origin: ${ownOrigin}, ORIGIN_URL in ${devVars}` : `demo origin: ${originUrl}`;
  // The password is shown when its account is made; later it is in the dev vars, where it always was.
  const password = consoleOwner.created
    ? `${consoleOwner.password}   (new account; kept in ${devVars} as ${consoleOwner.passwordVar})`
    : `${consoleOwner.passwordVar} in ${devVars}   (unless you changed it in the console)`;
  console.log(`
────────────────────────────────────────────────────────────────────────
 keygate is running on ${url}   (${originNote})

 console   ${consoleOwner.url}
   email     ${consoleOwner.email}
   password  ${password}

 tenant    ${tenant.id} (${tenant.name})
 key       ${k}
           (${key.id}; ${keyReused ? "the same demo key as last time" : "a new demo key"}, kept in ${devVars} as DEMO_API_KEY)
 secrets   ${devVars}  (ADMIN_TOKEN, JWT_SECRET, ORIGIN_SIGNING_SECRET)

 Call the API behind keygate, with any of the three credential styles:
   curl -i ${url}/hello -H "x-api-key: ${k}"
   curl -i ${url}/hello -H "Authorization: Bearer ${k}"
   curl -i ${url}/hello -u "${k}:"

 Admin API (create another key for the demo tenant):
   curl -s ${url}/_keygate/v1/keys -H "Authorization: Bearer ${adminToken}" \\
     -H "content-type: application/json" -d '{"tenant_id": "${tenant.id}", "scopes": ["read"]}'
 Revoke the demo key (the next start makes a new one):
   curl -s -X POST ${url}/_keygate/v1/keys/${key.id}/revoke -H "Authorization: Bearer ${adminToken}"

${oauthDemo ? oauthLines(oauthDemo, devVars) : ""} Your own Worker can check keys here through a service binding: npm run example:hono-api
 Ctrl-C stops everything. Local state: ${state}
────────────────────────────────────────────────────────────────────────
`);
}

/** How to watch an app act for a user: the demo app, the consent page's user, where its password is kept. */
function oauthLines({ url, user, password, passwordVar }, devVars) {
  return ` Let an app act for a user (OAuth): open ${url} in a browser
   and sign in on the consent page as ${user} / ${password}   (${passwordVar} in ${devVars})

`;
}
