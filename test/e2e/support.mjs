// End-to-end support: keygate under a real `wrangler dev` (started by the same code as
// `npm run dev`), a real loopback origin, and the real `curl` binary as the client.
// Plain ESM because it needs Node's APIs; support.d.mts types it for the test files.
import { spawn } from "node:child_process";
import { createHash, pbkdf2Sync, randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startOrigin } from "../../scripts/origin.mjs";
import { oauthConsent } from "../../examples/oauth-consent/consent.mjs";
import {
  adminClient,
  applyMigrations,
  ensureDevVars,
  freePort,
  killGroup,
  portInUse,
  randomSecret,
  readDevVars,
  registryEnv,
  ROOT,
  runWrangler,
  startDev,
  startWrangler,
  wranglerEnv,
} from "../../scripts/local.mjs";

/**
 * A fresh keygate: its own temp state directory (D1/KV/DO) with the migrations applied, its own
 * origin and free port, bindings passed as --var, and .dev.vars ignored (an empty --env-file). Its
 * dev registry is its own too, so it never stands in for the keygate of a developer's npm run dev.
 */
export async function startKeygate({ vars = {} } = {}) {
  const dir = await mkdtemp(join(tmpdir(), "keygate-e2e-"));
  const cleanups = [() => rm(dir, { recursive: true, force: true })];
  const stop = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
  };
  try {
    const origin = await startOrigin();
    cleanups.push(() => origin.close());
    const persistTo = join(dir, "state");
    const envFile = join(dir, "empty.env");
    await writeFile(envFile, "");
    await applyMigrations({ persistTo });
    const adminToken = randomSecret();
    const wrangler = await startWrangler({
      persistTo,
      envFile,
      registryPath: join(dir, "registry"),
      vars: {
        ORIGIN_URL: origin.url,
        // The example consent page, served by the origin once a test mounts it (consentPage below).
        OAUTH_CONSENT_URL: `${origin.url}/oauth/consent`,
        ADMIN_TOKEN: adminToken,
        JWT_SECRET: randomSecret(),
        ORIGIN_SIGNING_SECRET: randomSecret(),
        ...vars,
      },
    });
    cleanups.push(() => wrangler.stop());
    const originJson = async (path) => (await fetch(`${origin.url}${path}`)).json();
    return {
      url: wrangler.url,
      originUrl: origin.url,
      dir,
      adminToken,
      admin: adminClient(wrangler.url, adminToken),
      originCounts: () => originJson("/__origin/counts"),
      originPaths: () => originJson("/__origin/paths"),
      wranglerLogs: () => wrangler.logs(),
      consentPage: (options) => origin.serve(oauthConsent({ keygateUrl: wrangler.url, ...options })),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * A local state directory of its own (D1/KV/DO under `persistTo`, secrets in `devVarsPath`, a dev
 * registry in `registryPath`), for starting keygate on the same state more than once.
 */
export async function localState() {
  const dir = await mkdtemp(join(tmpdir(), "keygate-state-"));
  return {
    dir,
    persistTo: join(dir, "state"),
    devVarsPath: join(dir, "dev.vars"),
    registryPath: join(dir, "registry"),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/** Rows of one SQL statement on a state's local D1, through `wrangler d1 execute --local --json`. */
export async function queryLocalD1(state, sql) {
  const output = await runWrangler(["d1", "execute", "DB", "--local", "--persist-to", state.persistTo, "--json", "--command", sql]);
  return JSON.parse(output.slice(output.indexOf("[")))[0].results;
}

/**
 * A local state as release 0.1.0's `npm run dev` left it: secrets in the dev vars, schema.sql run
 * as a plain file with `wrangler d1 execute` (its statements are exactly migrations/0001), so no
 * migration is recorded, and `seed`'s tenants, keys and admins stored as that release stored them
 * (rows of its schema; today's worker cannot run on it: it reads columns that schema lacks). Each
 * key's object starts from its row on first use.
 */
export async function releaseZeroState(state, seed) {
  ensureDevVars(state.devVarsPath);
  const schema = join(ROOT, "migrations", "0001_initial.sql");
  await runWrangler(["d1", "execute", "DB", "--local", "--persist-to", state.persistTo, "--yes", "--file", schema]);
  const { statements, created } = await releaseZeroRows(seed);
  const rows = join(state.dir, "release-zero-rows.sql");
  await writeFile(rows, statements.join("\n"));
  await runWrangler(["d1", "execute", "DB", "--local", "--persist-to", state.persistTo, "--yes", "--file", rows]);
  return created;
}

const sqlText = (value) => (value === null ? "NULL" : typeof value === "number" ? String(value) : `'${String(value).replaceAll("'", "''")}'`);
const insert = (table, row) => `INSERT INTO ${table} (${Object.keys(row).join(", ")}) VALUES (${Object.values(row).map(sqlText).join(", ")});`;

/** The rows release 0.1.0 wrote for `seed`, with the keys' plaintexts (made and hashed by src/keys itself). */
async function releaseZeroRows(seed) {
  const { generateKey, displayForm, hashKey, prefixedId } = await import("../../bench/lib/keys.mjs");
  const now = Date.now();
  const statements = [];
  const tenants = seed.tenants.map((name) => {
    const tenant = { id: prefixedId("ten"), name, status: "active", created_at: now, updated_at: now };
    statements.push(insert("tenants", tenant));
    return tenant;
  });
  const keys = [];
  for (const spec of seed.keys) {
    const key = generateKey("kg", "live");
    const row = {
      id: prefixedId("key"),
      tenant_id: tenants[spec.tenant].id,
      key_hash: await hashKey(key),
      display: displayForm(key, "kg"),
      name: null,
      description: null,
      environment: "live",
      scopes: JSON.stringify(["read", "write"]),
      rate_limit: spec.limit ?? 60,
      rate_window_seconds: spec.windowSeconds ?? 60,
      expires_at: null,
      created_at: now,
      updated_at: now,
      revoked_at: spec.revoked ? now : null,
      deleted_at: null,
      rotated_from: null,
      rotated_to: null,
    };
    statements.push(insert("api_keys", row));
    keys.push({ id: row.id, tenant_id: row.tenant_id, key, status: spec.revoked ? "revoked" : "active", scopes: ["read", "write"], rate_limit: { limit: row.rate_limit, window_seconds: row.rate_window_seconds } });
  }
  for (const { email, password, role } of seed.admins) {
    const salt = randomBytes(16);
    const iterations = 100_000;
    const hash = pbkdf2Sync(password.normalize("NFKC"), salt, iterations, 32, "sha256").toString("hex");
    statements.push(
      insert("admins", { id: prefixedId("adm"), email, role, password_hash: hash, password_salt: salt.toString("hex"), password_iterations: iterations, created_at: now, updated_at: now }),
    );
  }
  return { statements, created: { tenants, keys } };
}

/** `npm run dev`'s own start-up (startDev, as scripts/dev.mjs runs it) on `state`, on free ports. */
export async function startDevOn(state) {
  const log = [];
  const dev = await startDev({
    port: await freePort(),
    originPort: await freePort(),
    persistTo: state.persistTo,
    devVarsPath: state.devVarsPath,
    registryPath: state.registryPath,
    log: (line) => log.push(line),
  });
  return { ...dev, log, admin: adminClient(dev.url, dev.vars.ADMIN_TOKEN) };
}

/** The admin API of the keygate running at `url` on `state`, with the root token from its dev vars. */
export function devAdmin(state, url) {
  return adminClient(url, readDevVars(state.devVarsPath).ADMIN_TOKEN);
}

/** `npm run dev`'s options for `state`, on these ports. */
export function devArgs(state, { port, originPort }) {
  return ["--port", String(port), "--origin-port", String(originPort), "--persist-to", state.persistTo, "--dev-vars", state.devVarsPath];
}

/**
 * `npm run <script> -- <args>`, as a user types it, in a process group of its own (Ctrl-C reaches
 * all of it, as in a terminal). `env` adds to this process's environment; a state's dev registry
 * goes in with `registryEnv(state.registryPath)`.
 */
export function runNpm(script, args = [], { env = {} } = {}) {
  const child = spawn("npm", ["run", script, "--", ...args], {
    cwd: ROOT,
    env: wranglerEnv(env),
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const listeners = new Set();
  const hear = (chunk) => {
    output += chunk;
    for (const listener of listeners) listener();
  };
  child.stdout.on("data", hear);
  child.stderr.on("data", hear);
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve(code ?? signal)));
  let done = false;
  exited.then(() => {
    done = true;
    for (const listener of listeners) listener();
  });
  // A test that fails or times out must not leave a keygate running.
  const killOnExit = () => killGroup(child, "SIGKILL");
  process.once("exit", killOnExit);
  exited.then(() => process.removeListener("exit", killOnExit));
  return {
    output: () => output,
    exited,
    /** Resolves with the first match of `pattern` in the output; rejects when the command ends first or the time is up. */
    waitFor: (pattern, timeoutMs = 180_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => finish(new Error(`npm run ${script}: no ${pattern} within ${timeoutMs} ms\n${output}`)), timeoutMs);
        const listener = () => {
          const match = pattern.exec(output);
          if (match) finish(null, match);
          else if (done) finish(new Error(`npm run ${script} ended (${child.exitCode ?? child.signalCode}) before ${pattern}\n${output}`));
        };
        const finish = (error, match) => {
          clearTimeout(timer);
          listeners.delete(listener);
          if (error) reject(error);
          else resolve(match);
        };
        listeners.add(listener);
        listener();
      }),
    /** Ctrl-C, then its exit status. */
    interrupt: async () => {
      if (!done) killGroup(child, "SIGINT");
      return exited;
    },
    /** kill -9 on the command (what it started itself, such as wrangler under its lifeline, is left to notice). */
    kill: async () => {
      if (!done) killGroup(child, "SIGKILL");
      return exited;
    },
  };
}

/** The banner `npm run dev` prints once keygate answers: what it says, read as a user would. */
export const DEV_BANNER = /keygate is running on (\S+)[\s\S]*?\n─+\n/;

export function readDevBanner(text) {
  const banner = DEV_BANNER.exec(text)?.[0];
  if (!banner) throw new Error(`no banner in:\n${text}`);
  const field = (pattern) => pattern.exec(banner)?.[1] ?? null;
  return {
    text: banner,
    url: field(/keygate is running on (\S+)/),
    consoleUrl: field(/ console\s+(\S+)/),
    email: field(/ email\s+(\S+)/),
    passwordLine: field(/ password\s+(.+)/),
    tenantId: field(/ tenant\s+(ten_\w+)/),
    key: field(/ key\s+(\S+)/),
    keyId: field(/\((key_\w+);/),
    oauthDemoUrl: field(/open (\S+\/oauth\/demo) /),
  };
}

/** Resolves once nothing listens on `port` (a process that was told to stop has let go of it). */
export async function portReleased(port, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (await portInUse(port)) {
    if (Date.now() > deadline) throw new Error(`port ${port} still in use after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export { freePort, registryEnv };

/**
 * Runs `curl -sS <args> <url>` and returns what it received: the status and headers of the last
 * response (after any `100 Continue`), the body bytes and their SHA-256.
 */
export async function curl(url, args = []) {
  const scratch = join(tmpdir(), `keygate-curl-${randomBytes(8).toString("hex")}`);
  const headerFile = `${scratch}.headers`;
  const bodyFile = `${scratch}.body`;
  try {
    const { code, stderr } = await run("curl", ["-sS", "--max-time", "120", "-D", headerFile, "-o", bodyFile, ...args, url]);
    if (code !== 0) throw new Error(`curl ${args.join(" ")} ${url} failed (${code}): ${stderr}`);
    const body = await readFile(bodyFile).catch(() => Buffer.alloc(0));
    const blocks = (await readFile(headerFile, "utf8")).split(/\r?\n\r?\n/).filter((b) => b.trim());
    const lines = (blocks.at(-1) ?? "").split(/\r?\n/);
    const status = Number(/^HTTP\/[\d.]+ (\d{3})/.exec(lines[0] ?? "")?.[1]);
    const headers = new Headers();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(":");
      if (colon > 0) headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
    }
    const text = () => body.toString("utf8");
    return {
      status,
      headers,
      body: new Uint8Array(body),
      sha256: createHash("sha256").update(body).digest("hex"),
      text,
      json: () => JSON.parse(text()),
    };
  } finally {
    await rm(headerFile, { force: true });
    await rm(bodyFile, { force: true });
  }
}

/** A file of `bytes` random bytes in `dir`, and its SHA-256. */
export async function randomFile(dir, bytes) {
  const data = randomBytes(bytes);
  const path = join(dir, `upload-${randomBytes(4).toString("hex")}.bin`);
  await writeFile(path, data);
  return { path, sha256: createHash("sha256").update(data).digest("hex") };
}

function run(command, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stderr }));
  });
}

/** Asserts the one error envelope (and x-request-id matching it) and returns it with the status. */
export function errorOf(result) {
  const body = JSON.parse(result.text());
  if (body.success !== false || !body.error?.code || !body.requestId?.startsWith("req_")) {
    throw new Error(`not an error envelope (${result.status}): ${result.text()}`);
  }
  if (result.headers.get("x-request-id") !== body.requestId) throw new Error("x-request-id differs from requestId");
  return { ...body, status: result.status };
}
