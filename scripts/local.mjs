// Running keygate on this machine: `wrangler dev` on local D1/KV/DO with the migrations applied.
// One implementation shared by `npm run dev` (scripts/dev.mjs) and the end-to-end tests
// (test/e2e), so the tests exercise exactly what a new user runs.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, unlinkSync, watch, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { uptime } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { startOrigin } from "./origin.mjs";
import { oauthConsent } from "../examples/oauth-consent/consent.mjs";
import { checkDevSettings, SECRET_NAMES } from "./settings-checks.mjs";

export const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
export const DEV_VARS_PATH = join(ROOT, ".dev.vars");
/** wrangler's own default for local D1, KV and Durable Objects, spelled out so the state lock can live in it. */
export const DEFAULT_STATE_DIR = join(ROOT, ".wrangler", "state");
export const DEFAULT_PORT = 8787;
/** The demo origin's port: the ORIGIN_URL in wrangler.toml. */
export const DEFAULT_ORIGIN_PORT = 8788;
/** The secrets keygate reads; `npm run dev` puts random values for them in .dev.vars. */
export { SECRET_NAMES };
/**
 * What `npm run dev` keeps for you in .dev.vars besides the secrets: the console's local owner
 * (created on the first start, its password never overwritten) and the demo key, so that a restart
 * reuses both instead of adding another of each.
 */
export const CONSOLE_OWNER_EMAIL = "CONSOLE_OWNER_EMAIL";
export const CONSOLE_OWNER_PASSWORD = "CONSOLE_OWNER_PASSWORD";
export const DEMO_API_KEY = "DEMO_API_KEY";
export const DEMO_API_KEY_ID = "DEMO_API_KEY_ID";
/** The OAuth demo: the consent page's authorizer and demo user, and the demo app's client id. */
export const OAUTH_DEMO_AUTHORIZER_PASSWORD = "OAUTH_DEMO_AUTHORIZER_PASSWORD";
export const OAUTH_DEMO_USER_PASSWORD = "OAUTH_DEMO_USER_PASSWORD";
export const OAUTH_DEMO_CLIENT_ID = "OAUTH_DEMO_CLIENT_ID";
const DEFAULT_OWNER_EMAIL = "owner@keygate.localhost";
const OAUTH_DEMO_AUTHORIZER_EMAIL = "consent@keygate.localhost";
const OAUTH_DEMO_USER = "alice";
const DEMO_TENANT_NAME = "Demo tenant";

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

/**
 * Runs `wrangler <args>` to completion and resolves with how it ended, whatever its exit code (each
 * caller words its own failure); rejects only when it could not be started.
 *   output: "pipe" collects what it prints; "show" collects it and also writes it to this terminal
 *           as it comes; "inherit" leaves this terminal's output to wrangler and collects nothing
 *   env:    more environment for wrangler (see wranglerEnv)
 * Resolves { code, stdout, output }: its exit code, its standard output, and both its outputs as
 * they came.
 */
export function spawnWrangler(args, { output: mode = "pipe", env = {} } = {}) {
  return new Promise((resolve, reject) => {
    const piped = mode === "inherit" ? "inherit" : "pipe";
    const child = spawn(nodeBinary(), [WRANGLER_CLI, ...args], { cwd: ROOT, env: wranglerEnv(env), stdio: ["ignore", piped, piped] });
    let stdout = "";
    let output = "";
    child.stdout?.on("data", (chunk) => {
      stdout += chunk;
      output += chunk;
      if (mode === "show") process.stdout.write(chunk);
    });
    child.stderr?.on("data", (chunk) => {
      output += chunk;
      if (mode === "show") process.stderr.write(chunk);
    });
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, output }));
  });
}

/** Runs one wrangler command to completion; rejects with its output when it fails. */
export async function runWrangler(args, { quiet = true } = {}) {
  const { code, output } = await spawnWrangler(args, { output: quiet ? "pipe" : "inherit" });
  if (code !== 0) throw new Error(`wrangler ${args.join(" ")} exited with ${code}\n${output}`);
  return output;
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
 * `npm run dev`'s start-up, everything but the signals and the banner (scripts/dev.mjs). Before it
 * creates anything it refuses (StartRefused) a port that is taken and a state another keygate
 * runs on; then it makes sure the dev vars file holds every secret, applies the migrations to the
 * local D1, starts the demo origin (unless the dev vars name an ORIGIN_URL of your own and no
 * originPort is given) and `wrangler dev`, and once that wrangler answers, makes sure of the demo
 * tenant, its key and the console's owner, reusing what an earlier start made. Run it again on the
 * same state and it upgrades that state in place and keeps everything in it.
 *   persistTo:    the state directory (wrangler's default, .wrangler/state, when not given)
 *   devVarsPath:  the secrets file (.dev.vars when not given; any other is passed as --env-file)
 *   originPort:   the demo origin's port (8788 when not given); giving it always starts the demo
 *                 origin and points ORIGIN_URL at it
 *   registryPath: wrangler's local dev registry, through which other `wrangler dev` sessions (the
 *                 hono-api example, your own Worker) reach this keygate's service binding; the
 *                 machine-wide one when not given
 *   log:          progress lines
 * Resolves with the running instance; `stop()` ends what it started.
 */
export async function startDev({
  port = DEFAULT_PORT,
  ip = "127.0.0.1",
  originPort,
  persistTo = DEFAULT_STATE_DIR,
  devVarsPath = DEV_VARS_PATH,
  registryPath,
  output = "capture",
  log = () => {},
} = {}) {
  const cleanups = [];
  const stop = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  };
  const stateDir = resolve(persistTo);
  try {
    // Nothing is written before these: a start that cannot run leaves no trace.
    await assertPortFree(port, ip, { what: "keygate", option: "--port" });
    // An ORIGIN_URL in the dev vars means "put my own API behind keygate": then no demo origin.
    const ownOrigin = originPort === undefined ? readDevVars(devVarsPath).ORIGIN_URL || null : null;
    const demoPort = ownOrigin ? null : (originPort ?? DEFAULT_ORIGIN_PORT);
    if (demoPort !== null) await assertPortFree(demoPort, ip, { what: "the demo origin", option: "--origin-port" });
    // What the example needs to find this keygate: its address, its dev vars (the demo key) and
    // its registry when not the machine-wide one.
    const registry = registryPath ?? (process.env.CLOUDFLARE_DEV_REGISTRY_PATH || process.env.WRANGLER_REGISTRY_PATH || null);
    const lock = acquireStateLock(stateDir, { url: urlOf(ip, port), devVarsPath: resolve(devVarsPath), registryPath: registry });
    cleanups.push(() => lock.release());

    const { vars, added } = ensureDevVars(devVarsPath);
    if (added.length > 0) log(`wrote ${added.join(", ")} to ${devVarsPath}`);
    else log(`using secrets from ${devVarsPath}`);
    await checkLocalSettings({ vars, devVarsPath, originOverridden: originPort !== undefined, log });

    log(`applying migrations to the local D1 (${stateDir})…`);
    const applied = await applyMigrations({ persistTo: stateDir });
    log(/No migrations to apply/.test(applied) ? "the local D1 is up to date" : "migrations applied");

    let originUrl = ownOrigin;
    let demoOrigin = null;
    if (demoPort !== null) {
      demoOrigin = await startOrigin({ port: demoPort, host: ip, quiet: output !== "inherit" }).catch((error) => {
        throw error.code === "EADDRINUSE" ? new StartRefused(`port ${demoPort}, for the demo origin, was taken while keygate started: choose another with --origin-port <port>.`) : error;
      });
      cleanups.push(() => demoOrigin.close());
      originUrl = demoOrigin.url;
    }
    // The demo origin serves the example consent page, unless the dev vars name a page of your own.
    const consentUrl = demoOrigin && !vars.OAUTH_CONSENT_URL ? `${originUrl}/oauth/consent` : null;

    log("starting wrangler dev…");
    const wrangler = await startWrangler({
      port,
      ip,
      persistTo: stateDir,
      output,
      registryPath,
      envFile: resolve(devVarsPath) === DEV_VARS_PATH ? undefined : devVarsPath,
      // Only when the origin moved: otherwise ORIGIN_URL from wrangler.toml or the dev vars stands.
      vars: { ...(originPort !== undefined ? { ORIGIN_URL: originUrl } : {}), ...(consentUrl ? { OAUTH_CONSENT_URL: consentUrl } : {}) },
    });
    cleanups.push(() => wrangler.stop());

    const admin = adminClient(wrangler.url, vars.ADMIN_TOKEN);
    // The owner first: values edited by hand that it refuses stop the start before anything is made.
    const consoleOwner = await ensureConsoleOwner(admin, devVarsPath, vars);
    const { tenant, key, keyReused } = await ensureDemoKey(admin, devVarsPath, vars);
    const oauthDemo = consentUrl ? await ensureOAuthDemo(admin, devVarsPath, vars, { tenant, originUrl, keygateUrl: wrangler.url, origin: demoOrigin }) : null;
    return {
      url: wrangler.url,
      wrangler,
      stateDir,
      devVarsPath,
      vars: readDevVars(devVarsPath),
      ownOrigin,
      originUrl,
      tenant,
      key,
      keyReused,
      consoleOwner: { url: `${wrangler.url}/_keygate/`, ...consoleOwner },
      oauthDemo,
      stop,
    };
  } catch (error) {
    await stop().catch(() => {});
    throw error;
  }
}

// The one place where `npm run dev` checks its settings before it starts anything (the origin
// setting, the secrets' strength), by the worker's own rules (scripts/settings-checks.mjs): a weak
// secret is logged as a warning, an origin that cannot work refuses the start.
// `originOverridden`: the demo origin's URL replaces the dev vars' ORIGIN_URL (--origin-port).
export async function checkLocalSettings({ vars, devVarsPath, originOverridden, log }) {
  try {
    checkDevSettings({ vars, devVarsPath, originOverridden, warn: log });
  } catch (error) {
    throw new StartRefused(error.message);
  }
}

/**
 * The demo tenant and its key, made once and reused: the key kept in the dev vars is reused while
 * it still works; otherwise a new one is made for the same demo tenant (the one of the stored key,
 * or the tenant named "Demo tenant") and written to the dev vars in place of the old.
 */
async function ensureDemoKey(admin, devVarsPath, vars) {
  const stored = vars[DEMO_API_KEY_ID] ? await admin.getKey(vars[DEMO_API_KEY_ID]) : null;
  const storedTenant = stored ? await admin.getTenant(stored.tenant_id) : null;
  if (stored?.status === "active" && vars[DEMO_API_KEY] && storedTenant) {
    return { tenant: storedTenant, key: { ...stored, key: vars[DEMO_API_KEY] }, keyReused: true };
  }
  const tenant = storedTenant ?? (await admin.findTenant(DEMO_TENANT_NAME)) ?? (await admin.createTenant(DEMO_TENANT_NAME));
  const key = await admin.createKey({ tenant_id: tenant.id, name: "Demo key" });
  setDevVars(devVarsPath, { [DEMO_API_KEY]: key.key, [DEMO_API_KEY_ID]: key.id }, "The demo tenant's key (npm run dev reuses it on every start while it works).");
  return { tenant, key, keyReused: false };
}

/**
 * The OAuth demo on the demo origin (examples/oauth-consent/consent.mjs): an `authorizer` admin for
 * the consent page, a demo user of the demo tenant for it to sign in, and a public "Demo app"
 * client whose redirect URI is the demo origin's. Made once and reused, their secrets kept in the
 * dev vars (`vars`, as startDev read them: nothing before this start-up step writes these names).
 */
async function ensureOAuthDemo(admin, devVarsPath, vars, { tenant, originUrl, keygateUrl, origin }) {
  const made = {};
  const secret = (name) => vars[name] || (made[name] = randomBytes(18).toString("base64url"));
  const authorizer = { email: OAUTH_DEMO_AUTHORIZER_EMAIL, password: secret(OAUTH_DEMO_AUTHORIZER_PASSWORD) };
  const user = { username: OAUTH_DEMO_USER, password: secret(OAUTH_DEMO_USER_PASSWORD), subject: `user_${OAUTH_DEMO_USER}`, tenantId: tenant.id };
  const redirectUri = `${originUrl}/oauth/demo/callback`;
  const stored = vars[OAUTH_DEMO_CLIENT_ID] ? await admin.getOAuthClient(vars[OAUTH_DEMO_CLIENT_ID]) : null;
  // The same demo app on every start; the demo origin's port may differ from the last one's.
  if (stored && !stored.redirect_uris.includes(redirectUri)) await admin.updateOAuthClient(stored.id, { redirect_uris: [redirectUri] });
  const client = stored ?? (await admin.createOAuthClient({ tenant_id: tenant.id, name: "Demo app", type: "public", redirect_uris: [redirectUri], scopes: ["read"] }));
  if (client !== stored) made[OAUTH_DEMO_CLIENT_ID] = client.id;
  if (Object.keys(made).length > 0) setDevVars(devVarsPath, made, "The OAuth demo on the demo origin: its consent page's authorizer and user, and the demo app (npm run dev makes them).");
  await admin.createAdminUnlessTaken({ ...authorizer, role: "authorizer" });
  origin.serve(oauthConsent({ keygateUrl, authorizer, users: [user], demoApp: { clientId: client.id, redirectUri } }));
  return { url: `${originUrl}/oauth/demo`, user: user.username, passwordVar: OAUTH_DEMO_USER_PASSWORD, password: user.password, clientId: client.id };
}

/**
 * The console's local owner, with the email and password in the dev vars; `created` when this
 * start made it. Values the admin API refuses (edited by hand) are named in a sentence.
 */
async function ensureConsoleOwner(admin, devVarsPath, vars) {
  const email = vars[CONSOLE_OWNER_EMAIL];
  const password = vars[CONSOLE_OWNER_PASSWORD];
  try {
    const created = await admin.createAdminUnlessTaken({ email, password, role: "owner" });
    return { email, password, created, passwordVar: CONSOLE_OWNER_PASSWORD };
  } catch (error) {
    if (error.status !== 400) throw error;
    const problems = (error.body?.error?.details?.fields ?? []).map(({ field, message }) => `${field}: ${message}`).join("; ");
    throw new StartRefused(
      `the console owner in ${devVarsPath} was refused (${problems || error.body?.error?.message}): ` +
        `fix ${CONSOLE_OWNER_EMAIL} and ${CONSOLE_OWNER_PASSWORD} there (a password of 12 characters or more), or delete both lines to have new ones made.`,
    );
  }
}

/** A start that cannot go ahead for a reason the user can fix: said in one plain sentence, exit status 2. */
export class StartRefused extends Error {
  exitCode = 2;
}

/** `http://ip:port`, with brackets for IPv6. */
export function urlOf(ip, port) {
  return `http://${ip.includes(":") ? `[${ip}]` : ip}:${port}`;
}

/** Whether `port` on `ip` is taken: tries to listen on it for a moment. */
export function portInUse(port, ip = "127.0.0.1") {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", (error) => (error.code === "EADDRINUSE" ? resolve(true) : reject(error)));
    server.listen(port, ip, () => server.close(() => resolve(false)));
  });
}

/** Whether a keygate answers at `url` (every keygate response carries x-request-id). */
export async function answersAsKeygate(url) {
  try {
    const res = await fetch(`${url}${KEYGATE_READY.path}`, { redirect: "manual", signal: AbortSignal.timeout(3_000) });
    await res.arrayBuffer();
    return KEYGATE_READY.answered(res);
  } catch {
    return false;
  }
}

/** Refuses a port that is taken, saying whether by a keygate or by something else. */
export async function assertPortFree(port, ip, { what, option }) {
  if (!(await portInUse(port, ip))) return;
  if (what === "keygate" && (await answersAsKeygate(urlOf(ip, port)))) {
    throw new StartRefused(`keygate is already running on :${port} (${urlOf(ip, port)}): stop it first (Ctrl-C where it runs), or start this one with ${option} <another port>.`);
  }
  throw new StartRefused(`port ${port}, for ${what}, is in use by another program: stop that program, or choose another port with ${option} <port>.`);
}

/**
 * One keygate per state directory: a keygate caches keys in its isolate and counts windows in its
 * objects, so a second one on the same D1 and Durable Object files would admit what the first has
 * revoked. The lock is a file in the state directory naming the process that holds it; a lock
 * whose process is gone (killed, or from before a reboot) is stale and taken over.
 */
const LOCK_FILE = "keygate-dev.lock";

export function acquireStateLock(stateDir, info) {
  mkdirSync(stateDir, { recursive: true });
  const path = join(stateDir, LOCK_FILE);
  const mine = { pid: process.pid, started_at: Date.now(), ...info };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      writeFileSync(path, `${JSON.stringify(mine, null, 2)}\n`, { flag: "wx" });
      return {
        path,
        release: () => {
          const holder = readLockFile(path);
          if (holder?.pid === mine.pid && holder.started_at === mine.started_at) rmSync(path, { force: true });
        },
      };
    } catch (error) {
      if (error.code !== "EEXIST") throw error;
    }
    const holder = readLockFile(path);
    if (holder && lockIsLive(holder)) throw heldBy(holder, stateDir);
    // Stale: move it aside (only one of two racing starts can), and put it back if it was live after all.
    const aside = `${path}.${process.pid}.stale`;
    try {
      renameSync(path, aside);
    } catch {
      continue; // another start moved it first
    }
    const moved = readLockFile(aside);
    if (moved && lockIsLive(moved)) {
      try {
        linkSync(aside, path);
      } catch {
        // a third start holds the path now; it will have refused or taken over
      }
      unlinkSync(aside);
      throw heldBy(moved, stateDir);
    }
    unlinkSync(aside);
  }
  throw new StartRefused(`another keygate is starting on ${stateDir} at this moment: try again in a moment.`);
}

/** The keygate that holds the state directory's lock, or null when none does. */
export function readStateLock(stateDir = DEFAULT_STATE_DIR) {
  const holder = readLockFile(join(resolve(stateDir), LOCK_FILE));
  return holder && lockIsLive(holder) ? holder : null;
}

function readLockFile(path) {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch {
    return null; // absent, or half-written by a start that died at that instant
  }
}

function lockIsLive(holder) {
  const bootedAt = Date.now() - uptime() * 1000;
  if (!(holder.started_at > bootedAt)) return false; // a pid from before a reboot names another process
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    return error.code === "EPERM"; // alive, another user's
  }
  return !isZombie(holder.pid);
}

/** A killed process that nobody has reaped yet still answers kill(pid, 0); Linux says what it is. */
function isZombie(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return false; // no /proc here: trust kill(pid, 0)
  }
}

function heldBy(holder, stateDir) {
  return new StartRefused(
    `keygate is already running on this local state (${stateDir}): on ${holder.url ?? "?"}, process ${holder.pid}. ` +
      "One state serves one keygate: stop that one first (Ctrl-C where it runs), or give this one its own --persist-to <dir>.",
  );
}

/**
 * Options of a command (npm run dev, the example): `spec` is parseArgs' options, where
 * `type: "port"` is a string that must be a port number. Anything else, or a bad port, is a
 * StartRefused with the usage line: an option a command does not know is never silently ignored.
 */
export function parseCommandLine(argv, spec, usage) {
  const options = Object.fromEntries(Object.entries(spec).map(([name, option]) => [name, { ...option, type: option.type === "port" ? "string" : option.type }]));
  try {
    const { values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false });
    for (const [name, option] of Object.entries(spec)) {
      if (option.type === "port" && values[name] !== undefined) values[name] = parsePort(values[name], `--${name} ${values[name]}`);
    }
    return values;
  } catch (error) {
    throw new StartRefused(`${error.message}\n${usage}`);
  }
}

/** `text` as a port number; anything but a whole number from 1 to 65535 is refused, named as `given` ("--port 0", "PORT=0"). */
export function parsePort(text, given) {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new StartRefused(`${given} is not a port (1-65535).`);
  return port;
}

/**
 * The frame of a command that runs until stopped (npm run dev, the example): `main` registers what
 * to stop with `onStop`; Ctrl-C, SIGTERM and SIGHUP stop all of it. A StartRefused ends it with its
 * sentence and exit status 2, any other failure with exit status 1.
 */
export async function runUntilStopped(name, main) {
  const cleanups = [];
  let stopping = false;
  const shutdown = async (code) => {
    if (stopping) return;
    stopping = true;
    if (code === 0) console.log(`\n${name}: stopping…`);
    for (const cleanup of cleanups.splice(0).reverse()) {
      try {
        await cleanup();
      } catch (error) {
        console.error(error);
      }
    }
    process.exit(code);
  };
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => shutdown(0));
  try {
    await main({ onStop: (cleanup) => cleanups.push(cleanup), shutdown, isStopping: () => stopping });
  } catch (error) {
    // A refusal is a sentence for the user ("keygate is already running on :8787"); anything else is ours.
    console.error(error instanceof StartRefused ? error.message : `${name}: ${error.message}`);
    await shutdown(error instanceof StartRefused ? error.exitCode : 1);
  }
}

/**
 * Starts `wrangler dev` (local mode) and resolves once the worker answers.
 *   vars:         bindings passed as `--var NAME:value` (they override wrangler.toml and .dev.vars)
 *   envFile:      passed as `--env-file`; when given, wrangler does not read .dev.vars at all, which
 *                 keeps the tests independent of a developer's local secrets
 *   output:       "inherit" shows wrangler's log on this terminal; "capture" keeps it for `logs()`
 *   registryPath: the local dev registry this session's workers are found in (and find others in)
 */
export async function startWrangler({
  port,
  ip = "127.0.0.1",
  persistTo,
  vars = {},
  envFile,
  inspectorPort,
  output = "capture",
  registryPath,
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
  // that group down if this process dies without calling stop(). Its output always comes through
  // us: to be kept, to be shown, and to hear wrangler say it is listening.
  const node = nodeBinary();
  const shown = output === "inherit";
  const child = spawn(node, [LIFELINE, node, WRANGLER_CLI, ...args], {
    cwd: ROOT,
    env: wranglerEnv({ ...registryEnv(registryPath), ...(shown && process.stdout.isTTY ? { FORCE_COLOR: "1" } : {}) }),
    detached: true,
    stdio: ["pipe", "pipe", "pipe"],
  });
  child.stdin.on("error", () => {}); // the lifeline exiting first is not our error
  const url = urlOf(ip, boundPort);
  const log = [];
  let listening = false;
  const keep = (stream) => (chunk) => {
    const text = String(chunk);
    log.push(text);
    if (log.length > 400) log.splice(0, log.length - 400);
    if (!listening) listening = log.join("").replace(ANSI_ESCAPES, "").includes(`Ready on ${url}`);
    if (shown) stream.write(chunk);
  };
  child.stdout.on("data", keep(process.stdout));
  child.stderr.on("data", keep(process.stderr));
  // However this process ends (a failed test, an uncaught error), workerd must not outlive it.
  const killOnExit = () => killGroup(child, "SIGKILL");
  process.once("exit", killOnExit);

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
    // Its own wrangler's "Ready on" first: until then, whatever answers on the port is not this keygate.
    await waitForReady(url, child, readyTimeoutMs, ready, () => listening);
  } catch (error) {
    await instance.stop();
    const logs = instance.logs();
    throw new Error(logs && !shown ? `${error.message}\n--- wrangler output ---\n${logs}` : error.message);
  }
  return instance;
}

/** The colour codes in wrangler's output, to read or quote it as plain text. */
export const ANSI_ESCAPES = /\x1b\[[0-9;]*m/g;

/**
 * wrangler's local dev registry (where each `wrangler dev` session lists its workers, so that a
 * service binding in one session reaches a worker in another) at `registryPath`; wrangler reads
 * the first name, miniflare the second.
 */
export function registryEnv(registryPath) {
  return registryPath ? { WRANGLER_REGISTRY_PATH: registryPath, CLOUDFLARE_DEV_REGISTRY_PATH: registryPath } : {};
}

/**
 * Ready means the worker itself answered: any keygate response carries x-request-id. (Wrangler's
 * proxy may accept connections before the worker is loaded.) Another worker served on the port
 * says it is ready its own way: `ready = { path, answered(response) }`.
 */
const KEYGATE_READY = { path: "/_keygate/", answered: (res) => res.headers.has("x-request-id") };

export async function waitForReady(url, child, timeoutMs = 120_000, ready = KEYGATE_READY, listening = () => true) {
  const deadline = Date.now() + timeoutMs;
  let exited = null;
  child.once("exit", (code, signal) => (exited = signal ?? `code ${code}`));
  while (Date.now() < deadline) {
    if (exited) throw new Error(`wrangler dev exited before it was ready (${exited})`);
    if (!listening()) {
      await new Promise((r) => setTimeout(r, 100));
      continue;
    }
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

/** `signal` to `child`'s whole process group (it must have been spawned detached); false if it is already gone. */
export function killGroup(child, signal) {
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
  // `expected` may list 404 or 409: then that answer is null instead of a body.
  const call = async (method, path, body, expected) => {
    const res = await fetch(`${baseUrl}/_keygate/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (![expected].flat().includes(res.status)) {
      throw Object.assign(new Error(`${method} ${path}: expected ${expected}, got ${res.status} ${text}`), { status: res.status, body: parseOrNull(text) });
    }
    if (res.status === 404 || res.status === 409) return null;
    return text ? JSON.parse(text) : null;
  };
  return {
    createTenant: (name) => call("POST", "/tenants", { name }, 201),
    getTenant: (id) => call("GET", `/tenants/${id}`, undefined, [200, 404]),
    /** The newest tenant with this name, or null. */
    findTenant: async (name) => {
      for (let cursor = ""; ; ) {
        const page = await call("GET", `/tenants?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`, undefined, 200);
        const found = page.data.find((tenant) => tenant.name === name);
        if (found || !page.has_more) return found ?? null;
        cursor = page.next_cursor;
      }
    },
    // A large tenant's status change fans out over several calls: 202 until every key has it.
    updateTenant: async (id, fields) => {
      for (;;) {
        const tenant = await call("PATCH", `/tenants/${id}`, fields, [200, 202]);
        if (!tenant.fanout?.pending) return tenant;
      }
    },
    createKey: (fields) => call("POST", "/keys", fields, 201),
    getKey: (id) => call("GET", `/keys/${id}`, undefined, [200, 404]),
    updateKey: (id, fields) => call("PATCH", `/keys/${id}`, fields, 200),
    revokeKey: (id) => call("POST", `/keys/${id}/revoke`, undefined, 200),
    deleteKey: (id) => call("DELETE", `/keys/${id}`, undefined, 204),
    createAdmin: (fields) => call("POST", "/admins", fields, 201),
    createOAuthClient: (fields) => call("POST", "/oauth-clients", fields, 201),
    getOAuthClient: (id) => call("GET", `/oauth-clients/${id}`, undefined, [200, 404]),
    updateOAuthClient: (id, fields) => call("PATCH", `/oauth-clients/${id}`, fields, 200),
    /** Creates the admin unless one has the email already; true when it did. */
    createAdminUnlessTaken: async (fields) => (await call("POST", "/admins", fields, [201, 409])) !== null,
  };
}

function parseOrNull(text) {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

export function randomSecret() {
  return randomBytes(32).toString("base64url");
}

/** NAME=value lines of a .dev.vars file (quotes stripped); an absent file is empty. */
export function readDevVars(path = DEV_VARS_PATH) {
  if (!existsSync(path)) return {};
  const vars = {};
  for (const line of readFileSync(path, "utf8").split(/\r?\n/)) {
    const match = DEV_VAR_LINE.exec(line);
    if (!match) continue;
    vars[match[1]] = match[2].replace(/^(['"])(.*)\1$/, "$2");
  }
  return vars;
}

const DEV_VAR_LINE = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/;

/**
 * Makes sure .dev.vars holds every secret and the console owner's sign-in, adding random values
 * for missing ones and never touching values already there. Returns the vars and the names it added.
 */
export function ensureDevVars(path = DEV_VARS_PATH) {
  const existing = readDevVars(path);
  const missing = (name) => !existing[name];
  const secrets = SECRET_NAMES.filter(missing).map((name) => [name, randomSecret()]);
  const owner = [
    [CONSOLE_OWNER_EMAIL, DEFAULT_OWNER_EMAIL],
    [CONSOLE_OWNER_PASSWORD, randomBytes(18).toString("base64url")],
  ].filter(([name]) => missing(name));
  if (secrets.length + owner.length > 0) {
    const fresh = !existsSync(path);
    const current = fresh ? "" : readFileSync(path, "utf8");
    const blocks = [
      fresh ? "# Local secrets for `wrangler dev` (generated by `npm run dev`; gitignored).\n" : "",
      ...secrets.map(([name, value]) => `${name}=${value}\n`),
      owner.length > 0 ? "# The console's local owner (npm run dev creates it; the password is never overwritten).\n" : "",
      ...owner.map(([name, value]) => `${name}=${value}\n`),
    ];
    const separator = current && !current.endsWith("\n") ? "\n" : "";
    writeFileSync(path, `${current}${separator}${blocks.join("")}`, { mode: 0o600 });
  }
  return { vars: readDevVars(path), added: [...secrets, ...owner].map(([name]) => name) };
}

/**
 * Sets these names in the dev vars file: every line of each in place where it is there, the rest
 * appended under `comment`; every other line kept as it was.
 */
export function setDevVars(path, values, comment) {
  const lines = (existsSync(path) ? readFileSync(path, "utf8") : "").split("\n");
  if (lines.at(-1) === "") lines.pop();
  const seen = new Set();
  const updated = lines.map((line) => {
    const name = DEV_VAR_LINE.exec(line)?.[1];
    if (name === undefined || !Object.hasOwn(values, name)) return line;
    seen.add(name);
    return `${name}=${values[name]}`;
  });
  const appended = Object.entries(values).filter(([name]) => !seen.has(name));
  if (appended.length > 0 && comment) updated.push(`# ${comment}`);
  for (const [name, value] of appended) updated.push(`${name}=${value}`);
  writeFileSync(path, `${updated.join("\n")}\n`, { mode: 0o600 });
}

/**
 * Calls `onChange(names)` whenever the dev vars file comes to differ from `running` (the values the
 * running keygate was started with) in another set of names; `[]` when it matches them again. A
 * running `wrangler dev` never reads the file again, so these are what a restart would change.
 * Returns a function that stops watching.
 */
export function watchDevVars(path, running, onChange) {
  let reported = "";
  let timer;
  const check = () => {
    const now = readDevVars(path);
    const names = [...new Set([...Object.keys(running), ...Object.keys(now)])].filter((name) => running[name] !== now[name]).sort();
    if (names.join() === reported) return;
    reported = names.join();
    onChange(names);
  };
  // The directory, not the file: an editor that saves by replacing the file would end a file watch.
  const watcher = watch(dirname(resolve(path)), (_event, filename) => {
    if (filename !== basename(path)) return;
    clearTimeout(timer);
    timer = setTimeout(check, 50); // one report for an editor's several writes of one save
  });
  return () => {
    clearTimeout(timer);
    watcher.close();
  };
}
