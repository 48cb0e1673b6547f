// `npm run dev`: keygate on this machine, ready to curl.
// Creates .dev.vars (random secrets) if needed, applies the migrations in migrations/ to the local
// D1 (an older .wrangler/state is upgraded in place), starts the demo origin and `wrangler dev`,
// then makes a demo tenant and key and prints how to call it. The start-up itself is startDev in
// scripts/local.mjs, which the end-to-end tests run too.
//   PORT         keygate's port (default 8787)
//   ORIGIN_PORT  the demo origin's port (default 8788, the ORIGIN_URL in wrangler.toml)
// With ORIGIN_URL set in .dev.vars (and no ORIGIN_PORT), keygate fronts that API instead of the demo.
import { relative } from "node:path";
import { DEV_VARS_PATH, ROOT, startDev } from "./local.mjs";

const HOST = "127.0.0.1";
const port = Number(process.env.PORT ?? 8787);

const cleanups = [];
let stopping = false;

async function shutdown(code) {
  if (stopping) return;
  stopping = true;
  console.log("\nkeygate: stopping…");
  for (const cleanup of cleanups.reverse()) {
    try {
      await cleanup();
    } catch (error) {
      console.error(error);
    }
  }
  process.exit(code);
}
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => shutdown(0));

try {
  const devVars = relative(process.cwd(), DEV_VARS_PATH) || DEV_VARS_PATH;
  const dev = await startDev({
    port,
    ip: HOST,
    originPort: process.env.ORIGIN_PORT ? Number(process.env.ORIGIN_PORT) : undefined,
    output: "inherit",
    log: (line) => console.log(`keygate: ${line}`),
  });
  cleanups.push(() => dev.stop());
  dev.wrangler.process.once("exit", (code) => {
    if (!stopping) console.error(`keygate: wrangler dev exited (${code ?? "signal"})`);
    shutdown(code || 1);
  });

  const { url, vars, ownOrigin, originUrl, tenant, key } = dev;
  const originNote = ownOrigin ? `origin: ${ownOrigin}, ORIGIN_URL in ${devVars}` : `demo origin: ${originUrl}`;
  printBanner({ url, originNote, devVars, adminToken: vars.ADMIN_TOKEN, tenant, key });
} catch (error) {
  console.error(`keygate: ${error.message}`);
  await shutdown(1);
}

function printBanner({ url, originNote, devVars, adminToken, tenant, key }) {
  const k = key.key;
  console.log(`
────────────────────────────────────────────────────────────────────────
 keygate is running on ${url}   (${originNote})

 secrets   ${devVars}  (ADMIN_TOKEN, JWT_SECRET, ORIGIN_SIGNING_SECRET)
 tenant    ${tenant.id}
 key       ${k}
           (${key.id}; the plaintext is shown only once)

 Call the API behind keygate, with any of the three credential styles:
   curl -i ${url}/hello -H "x-api-key: ${k}"
   curl -i ${url}/hello -H "Authorization: Bearer ${k}"
   curl -i ${url}/hello -u "${k}:"

 Admin API (create another key for the demo tenant):
   curl -s ${url}/_keygate/v1/keys -H "Authorization: Bearer ${adminToken}" \\
     -H "content-type: application/json" -d '{"tenant_id": "${tenant.id}", "scopes": ["read"]}'
 Revoke the demo key:
   curl -s -X POST ${url}/_keygate/v1/keys/${key.id}/revoke -H "Authorization: Bearer ${adminToken}"

 Ctrl-C stops everything. Local state: ${relative(process.cwd(), `${ROOT}/.wrangler/state`) || ".wrangler/state"}
────────────────────────────────────────────────────────────────────────
`);
}
