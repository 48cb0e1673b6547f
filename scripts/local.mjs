// Running keygate on this machine: `wrangler dev` on local D1/KV/DO with the migrations applied.
// One implementation shared by `npm run dev` (scripts/dev.mjs) and the end-to-end tests
// (test/e2e), so the tests exercise exactly what a new user runs.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startOrigin } from "./origin.mjs";
import { checkDevSettings, SECRET_NAMES } from "./settings-checks.mjs";

export const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
export const DEV_VARS_PATH = join(ROOT, ".dev.vars");
/** The secrets keygate reads; `npm run dev` puts random values for them in .dev.vars. */
export { SECRET_NAMES };

const WRANGLER_PACKAGE = createRequire(import.meta.url).resolve("wrangler/package.json");
export const WRANGLER_CLI = join(dirname(WRANGLER_PACKAGE), JSON.parse(readFileSync(WRANGLER_PACKAGE, "utf8")).bin.wrangler);
const LIFELINE = join(ROOT, "scripts", "lifeline.mjs");
const MIN_NODE_FOR_WRANGLER = 22;

/** Environment for every wrangler child: no network calls for the `cf` object, no telemetry. */
export function wranglerEnv(extra = {}) {
  return {
    ...process.env,
    CLOUDFLARE_CF_FETCH_ENABLED: "false",
    WRANGLER_SEND_METRICS: "false",
    WRANGLER_SEND_ERROR_REPORTS: "false",
    ...extra,
  };
}

/**
 * Wrangler needs Node 22+. `npm run …` already puts the repo's own Node 24 (the `node`
 * devDependency) first on PATH; when a script is started with an older system node directly,
 * use that same binary instead of failing.
 */
export function nodeBinary() {
  if (Number(process.versions.node.split(".")[0]) >= MIN_NODE_FOR_WRANGLER) return process.execPath;
  const bundled = join(ROOT, "node_modules", "node", "bin", "node");
  if (existsSync(bundled)) return bundled;
  throw new Error(`wrangler needs Node.js ${MIN_NODE_FOR_WRANGLER}+; run this through npm (npm run dev / npm test).`);
}

/** A port that was free a moment ago on `host` (the OS picks it). */
export function freePort(host = "127.0.0.1") {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, host, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Runs one wrangler command to completion; rejects with its output when it fails. */
export function runWrangler(args, { quiet = true } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(nodeBinary(), [WRANGLER_CLI, ...args], {
      cwd: ROOT,
      env: wranglerEnv(),
      stdio: ["ignore", quiet ? "pipe" : "inherit", quiet ? "pipe" : "inherit"],
    });
    let output = "";
    child.stdout?.on("data", (chunk) => (output += chunk));
    child.stderr?.on("data", (chunk) => (output += chunk));
    child.once("error", reject);
    child.once("close", (code) => {
      if (code === 0) resolve(output);
      else reject(new Error(`wrangler ${args.join(" ")} exited with ${code}\n${output}`));
    });
  });
}

/**
 * `wrangler d1 migrations apply DB --local`: applies the migrations in migrations/ that this local
 * database has not had yet, and records them, so it runs on every start and an older local state
 * is upgraded in place with its rows. Without a terminal wrangler confirms on its own.
 * `persistTo` must be the same directory `wrangler dev` uses (default .wrangler/state).
 */
export function applyMigrations({ persistTo, quiet = true } = {}) {
  const args = ["d1", "migrations", "apply", "DB", "--local"];
  if (persistTo) args.push("--persist-to", persistTo);
  return runWrangler(args, { quiet });
}

/**
 * `npm run dev`'s start-up, everything but the signals and the banner (scripts/dev.mjs): makes
 * sure the dev vars file holds every secret, applies the migrations to the local D1, starts the
 * demo origin (unless the dev vars name an ORIGIN_URL of your own and no originPort is given) and
 * `wrangler dev`, then creates a demo tenant and key. Run it again on the same state and it upgrades
 * that state in place and keeps everything in it.
 *   persistTo:   the state directory (wrangler's default, .wrangler/state, when not given)
 *   devVarsPath: the secrets file (.dev.vars when not given; any other is passed as --env-file)
 *   originPort:  the demo origin's port (8788 when not given); giving it always starts the demo
 *                origin and points ORIGIN_URL at it
 *   log:         progress lines
 * Resolves with the running instance; `stop()` ends what it started.
 */
export async function startDev({
  port = 8787,
  ip = "127.0.0.1",
  originPort,
  persistTo,
  devVarsPath = DEV_VARS_PATH,
  output = "capture",
  log = () => {},
} = {}) {
  const cleanups = [];
  const stop = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  };
  try {
    const { vars, added } = ensureDevVars(devVarsPath);
    if (added.length > 0) log(`wrote random ${added.join(", ")} to ${devVarsPath}`);
    else log(`using secrets from ${devVarsPath}`);
    checkDevSettings({ vars, devVarsPath, originOverridden: originPort !== undefined, warn: log });

    log(`applying migrations to the local D1 (${persistTo ?? ".wrangler/state"})…`);
    const applied = await applyMigrations({ persistTo });
    log(/No migrations to apply/.test(applied) ? "the local D1 is up to date" : "migrations applied");

    // An ORIGIN_URL in the dev vars means "put my own API behind keygate": then no demo origin.
    const ownOrigin = vars.ORIGIN_URL && originPort === undefined ? vars.ORIGIN_URL : null;
    let originUrl = ownOrigin;
    if (!ownOrigin) {
      const demoPort = originPort ?? 8788;
      const origin = await startOrigin({ port: demoPort, host: ip, quiet: output !== "inherit" }).catch((error) => {
        throw error.code === "EADDRINUSE" ? new Error(`port ${demoPort} is in use: set ORIGIN_PORT to another port`) : error;
      });
      cleanups.push(() => origin.close());
      originUrl = origin.url;
    }

    log("starting wrangler dev…");
    const wrangler = await startWrangler({
      port,
      ip,
      persistTo,
      output,
      envFile: devVarsPath === DEV_VARS_PATH ? undefined : devVarsPath,
      // Only when the origin moved: otherwise ORIGIN_URL from wrangler.toml or the dev vars stands.
      vars: originPort !== undefined ? { ORIGIN_URL: originUrl } : {},
    });
    cleanups.push(() => wrangler.stop());

    const admin = adminClient(wrangler.url, vars.ADMIN_TOKEN);
    const tenant = await admin.createTenant("Demo tenant");
    const key = await admin.createKey({ tenant_id: tenant.id, name: "Demo key" });
    return { url: wrangler.url, wrangler, vars, ownOrigin, originUrl, tenant, key, stop };
  } catch (error) {
    await stop().catch(() => {});
    throw error;
  }
}

/**
 * Starts `wrangler dev` (local mode) and resolves once the worker answers.
 *   vars:    bindings passed as `--var NAME:value` (they override wrangler.toml and .dev.vars)
 *   envFile: passed as `--env-file`; when given, wrangler does not read .dev.vars at all, which
 *            keeps the tests independent of a developer's local secrets
 *   output:  "inherit" shows wrangler's log on this terminal; "capture" keeps it for `logs()`
 */
export async function startWrangler({
  port,
  ip = "127.0.0.1",
  persistTo,
  vars = {},
  envFile,
  inspectorPort,
  output = "capture",
  readyTimeoutMs = 120_000,
  // Several workers in one runtime (the first is the one served on the port): wrangler's -c, repeated.
  configs = [],
  ready,
} = {}) {
  const boundPort = port ?? (await freePort(ip));
  const args = [
    "dev",
    ...configs.flatMap((config) => ["-c", config]),
    "--ip", ip,
    "--port", String(boundPort),
    // The default 9229 is shared by every wrangler and node --inspect on the machine.
    "--inspector-port", String(inspectorPort ?? (await freePort("127.0.0.1"))),
    "--show-interactive-dev-session=false",
  ];
  if (persistTo) args.push("--persist-to", persistTo);
  if (envFile) args.push("--env-file", envFile);
  for (const [name, value] of Object.entries(vars)) args.push("--var", `${name}:${value}`);

  // Own process group, so stop() reaches workerd too; the lifeline (its stdin is our pipe) takes
  // that group down if this process dies without calling stop().
  const node = nodeBinary();
  const child = spawn(node, [LIFELINE, node, WRANGLER_CLI, ...args], {
    cwd: ROOT,
    env: wranglerEnv(),
    detached: true,
    stdio: ["pipe", output === "inherit" ? "inherit" : "pipe", output === "inherit" ? "inherit" : "pipe"],
  });
  child.stdin.on("error", () => {}); // the lifeline exiting first is not our error
  const log = [];
  const keep = (chunk) => {
    log.push(String(chunk));
    if (log.length > 400) log.splice(0, log.length - 400);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  // However this process ends (a failed test, an uncaught error), workerd must not outlive it.
  const killOnExit = () => killGroup(child, "SIGKILL");
  process.once("exit", killOnExit);

  const url = `http://${ip.includes(":") ? `[${ip}]` : ip}:${boundPort}`;
  const instance = {
    url,
    port: boundPort,
    process: child,
    logs: () => log.join(""),
    stop: async () => {
      process.removeListener("exit", killOnExit);
      await stopProcessGroup(child);
    },
  };
  try {
    await waitForReady(url, child, readyTimeoutMs, ready);
  } catch (error) {
    await instance.stop();
    const logs = instance.logs();
    throw new Error(logs ? `${error.message}\n--- wrangler output ---\n${logs}` : error.message);
  }
  return instance;
}

/**
 * Ready means the worker itself answered: any keygate response carries x-request-id. (Wrangler's
 * proxy may accept connections before the worker is loaded.) Another worker served on the port
 * says it is ready its own way: `ready = { path, answered(response) }`.
 */
const KEYGATE_READY = { path: "/_keygate/", answered: (res) => res.headers.has("x-request-id") };

export async function waitForReady(url, child, timeoutMs = 120_000, ready = KEYGATE_READY) {
  const deadline = Date.now() + timeoutMs;
  let exited = null;
  child.once("exit", (code, signal) => (exited = signal ?? `code ${code}`));
  while (Date.now() < deadline) {
    if (exited) throw new Error(`wrangler dev exited before it was ready (${exited})`);
    try {
      const res = await fetch(`${url}${ready.path}`, { signal: AbortSignal.timeout(5_000) });
      await res.arrayBuffer();
      if (ready.answered(res)) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`wrangler dev was not ready on ${url} within ${timeoutMs} ms`);
}

function killGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
    return true;
  } catch {
    return false; // already gone
  }
}

/** SIGTERM to the whole group (wrangler, esbuild, workerd), SIGKILL if it lingers. */
export async function stopProcessGroup(child, graceMs = 5_000) {
  if (child.pid === undefined) return;
  const exited = child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once("exit", resolve));
  if (!killGroup(child, "SIGTERM")) return;
  const timer = new Promise((resolve) => setTimeout(resolve, graceMs).unref());
  await Promise.race([exited, timer]);
  // workerd children may outlive a wrangler that exited promptly; the group kill reaches them.
  killGroup(child, "SIGKILL");
}

/** The admin API over HTTP, as an operator would call it. Throws with the body on an unexpected status. */
export function adminClient(baseUrl, token) {
  const call = async (method, path, body, expected) => {
    const res = await fetch(`${baseUrl}/_keygate/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (![expected].flat().includes(res.status)) throw new Error(`${method} ${path}: expected ${expected}, got ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
  };
  return {
    createTenant: (name) => call("POST", "/tenants", { name }, 201),
    // A large tenant's status change fans out over several calls: 202 until every key has it.
    updateTenant: async (id, fields) => {
      for (;;) {
        const tenant = await call("PATCH", `/tenants/${id}`, fields, [200, 202]);
        if (!tenant.fanout?.pending) return tenant;
      }
    },
    createKey: (fields) => call("POST", "/keys", fields, 201),
    updateKey: (id, fields) => call("PATCH", `/keys/${id}`, fields, 200),
    revokeKey: (id) => call("POST", `/keys/${id}/revoke`, undefined, 200),
    deleteKey: (id) => call("DELETE", `/keys/${id}`, undefined, 204),
    createAdmin: (fields) => call("POST", "/admins", fields, 201),
  };
}

export function randomSecret() {
  return randomBytes(32).toString("base64url");
}

/** NAME=value lines of a .dev.vars file (quotes stripped); an absent file is empty. */
export function readDevVars(path = DEV_VARS_PATH) {
  if (!existsSync(path)) return {};
  const vars = {};
  for (const line of readFileSync(path, "utf8").split(/\r?\n/)) {
    const match = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!match) continue;
    vars[match[1]] = match[2].replace(/^(['"])(.*)\1$/, "$2");
  }
  return vars;
}

/**
 * Makes sure .dev.vars holds every secret, adding random values for missing ones and never
 * touching values already there. Returns the vars and the names it added.
 */
export function ensureDevVars(path = DEV_VARS_PATH) {
  const existing = readDevVars(path);
  const added = SECRET_NAMES.filter((name) => !existing[name]);
  if (added.length > 0) {
    const fresh = !existsSync(path);
    const current = fresh ? "" : readFileSync(path, "utf8");
    const header = fresh ? "# Local secrets for `wrangler dev` (generated by `npm run dev`; gitignored).\n" : "";
    const separator = current && !current.endsWith("\n") ? "\n" : "";
    const lines = added.map((name) => `${name}=${randomSecret()}\n`).join("");
    writeFileSync(path, `${current}${separator}${header}${lines}`, { mode: 0o600 });
  }
  return { vars: readDevVars(path), added };
}
