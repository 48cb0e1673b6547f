// `npm run example:hono-api`: this app under `wrangler dev`, alone, checking keys with the keygate
// that `npm run dev` runs. wrangler's local dev registry connects the KEYGATE service binding to
// that keygate's `Keygate` entrypoint across the two `wrangler dev` processes, so there is one
// keygate on the local state: a key revoked through its admin API is refused here on the next call.
// In a project of your own, plain `wrangler dev` does the same; this script only checks first that
// keygate is running and prints a call to try.
//   --port <port>        this app's port (default 8790)
//   --persist-to <dir>   the local state `npm run dev` runs on (default .wrangler/state)
import { join } from "node:path";
import { DEFAULT_STATE_DIR, parseCommandLine, readDevVars, readStateLock, ROOT, answersAsKeygate, assertPortFree, runUntilStopped, StartRefused, startWrangler, DEMO_API_KEY } from "../../scripts/local.mjs";

const HOST = "127.0.0.1";
const USAGE = "usage: npm run example:hono-api [-- --port <port>] [--persist-to <dir>]";

await runUntilStopped("hono-api", async ({ onStop, shutdown, isStopping }) => {
  const options = parseCommandLine(
    process.argv.slice(2),
    { port: { type: "port" }, "persist-to": { type: "string" }, help: { type: "boolean", short: "h" } },
    USAGE,
  );
  if (options.help) {
    console.log(USAGE);
    return shutdown(0);
  }
  const stateDir = options["persist-to"] ?? DEFAULT_STATE_DIR;
  const port = options.port ?? 8790;

  const keygate = readStateLock(stateDir);
  if (!keygate) {
    throw new StartRefused(
      `keygate is not running (no npm run dev on ${stateDir}): this example checks every key with it. ` +
        "Start it first with `npm run dev` in another terminal, then run `npm run example:hono-api` again.",
    );
  }
  if (!(await answersAsKeygate(keygate.url))) {
    throw new StartRefused(`keygate (process ${keygate.pid}) is still starting and does not answer on ${keygate.url} yet: wait for npm run dev's banner, then try again.`);
  }
  await assertPortFree(port, HOST, { what: "the hono-api example", option: "--port" });

  const api = await startWrangler({
    port,
    ip: HOST,
    configs: [join(ROOT, "examples", "hono-api", "wrangler.toml")],
    registryPath: keygate.registryPath ?? undefined,
    output: "inherit",
    ready: { path: "/", answered: (res) => res.status === 200 },
  });
  onStop(() => api.stop());
  api.process.once("exit", (code) => {
    if (isStopping()) return;
    console.error(`hono-api: wrangler dev exited (${code ?? "signal"})`);
    shutdown(code || 1);
  });

  const demoKey = readDevVars(keygate.devVarsPath)[DEMO_API_KEY] ?? "<an API key>";
  console.log(`
────────────────────────────────────────────────────────────────────────
 hono-api is running on ${api.url}
 It checks every key with the keygate on ${keygate.url} (npm run dev) through its KEYGATE service binding.

   curl -i ${api.url}/api/whoami -H "x-api-key: ${demoKey}"

 Ctrl-C stops this app; keygate keeps running.
────────────────────────────────────────────────────────────────────────
`);
});
