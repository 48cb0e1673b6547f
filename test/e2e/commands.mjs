// Commands as a person types them in a terminal (npm, tar, tsc, wrangler), for the end-to-end
// tests of packaging and deploying. Plain ESM because it needs Node's APIs; commands.d.mts types it.
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { freePort, ROOT, SECRET_NAMES, startDev } from "../../scripts/local.mjs";

export { ROOT };

/**
 * This process's environment for a child command, less what `npm test` itself set (npm_* config
 * that would steer a nested npm) and less keygate's secrets (each test gives its own), plus `extra`.
 */
export function childEnv(extra = {}) {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name) && !SECRET_NAMES.includes(name)),
  );
  return { ...env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false", ...extra };
}

/** Runs a command to completion, stdin closed; resolves with its exit code and output. */
export function runCommand(command, args, { cwd = ROOT, env = childEnv() } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr, output: `${stdout}\n${stderr}` }));
  });
}

/** A fresh directory under the system's temp directory. */
export function scratchDir(prefix) {
  return mkdtemp(join(tmpdir(), `keygate-${prefix}-`));
}

export function removeDir(dir) {
  return rm(dir, { recursive: true, force: true });
}

/** Writes each `relative path → content` under `dir`, making folders as needed. */
export async function writeFiles(dir, files) {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), content);
  }
}

export function readText(path) {
  return readFile(path, "utf8");
}

export function pathExists(path) {
  return existsSync(path);
}

/** The files under `dir`, as paths relative to it, sorted. */
export async function listFiles(dir) {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1)).sort();
}

/** The version of `name` this repository installed, so an install elsewhere can come from npm's cache. */
export function installedVersion(name) {
  return JSON.parse(readFileSync(join(ROOT, "node_modules", name, "package.json"), "utf8")).version;
}

/**
 * `npm run dev`'s start-up (startDev, as scripts/dev.mjs runs it) with this secrets file and state,
 * keygate on a free port: resolves with the progress lines and the error it stopped with (null if
 * it started, and then it is stopped again).
 */
export async function devStartOutcome({ devVarsPath, persistTo }) {
  const log = [];
  try {
    const dev = await startDev({ port: await freePort(), persistTo, devVarsPath, log: (line) => log.push(line) });
    await dev.stop();
    return { log, error: null };
  } catch (error) {
    return { log, error: error.message };
  }
}
