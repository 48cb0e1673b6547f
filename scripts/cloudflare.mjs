// The wrangler commands `npm run deploy` (scripts/deploy.mjs) runs: all but the dry run's build act
// on a Cloudflare account, each one command and nothing else, so that all the deciding happens
// (and is tested, with --dry-run) in deploy.mjs and settings-checks.mjs.
// wrangler finds the account itself: `wrangler login` on a workstation, CLOUDFLARE_API_TOKEN (and
// CLOUDFLARE_ACCOUNT_ID) in CI. Without a terminal on stdin, wrangler never asks anything.
import { ANSI_ESCAPES, spawnWrangler } from "./local.mjs";

/**
 * Runs `wrangler <args> -c <config>` to completion and resolves with its standard output.
 *   show: its output also goes to this terminal as it comes (the long steps: migrations, deploy)
 *   env:  more environment for wrangler (the secrets a deploy uploads: they never touch the disk)
 * Rejects with an error whose message is wrangler's own output, which says what went wrong.
 */
export async function wrangler(args, { config, show = false, env = {} }) {
  const { code, stdout, output } = await spawnWrangler([...args, "-c", config], { output: show ? "show" : "pipe", env });
  if (code === 0) return stdout;
  // Quoted in a sentence, wrangler's colours are noise.
  const plain = output.replace(ANSI_ESCAPES, "").trim();
  throw Object.assign(new Error(`\`wrangler ${args.join(" ")}\` failed:\n${plain}`), { output: plain });
}

/** wrangler's JSON answer, past any banner line it printed first. */
function json(stdout) {
  const start = stdout.search(/^[[{]/m);
  return JSON.parse(start > 0 ? stdout.slice(start) : stdout);
}

/** The D1 database called `name`: found on the account, or created. */
export async function findOrCreateD1(config, name) {
  const find = async () => json(await wrangler(["d1", "list", "--json"], { config })).find((db) => db.name === name)?.uuid;
  const found = await find();
  if (found) return { id: found, created: false };
  await wrangler(["d1", "create", name, "--update-config=false"], { config });
  return { id: await find(), created: true };
}

/** The KV namespace titled `title`: found on the account, or created. */
export async function findOrCreateKv(config, title) {
  const find = async () => json(await wrangler(["kv", "namespace", "list"], { config })).find((ns) => ns.title === title)?.id;
  const found = await find();
  if (found) return { id: found, created: false };
  await wrangler(["kv", "namespace", "create", title, "--update-config=false"], { config });
  return { id: await find(), created: true };
}

/** The names of the secrets the deployed worker has; none when it was never deployed. */
export async function secretNames(config) {
  try {
    return json(await wrangler(["secret", "list", "--format", "json"], { config })).map((secret) => secret.name);
  } catch (error) {
    if (/10007|does not exist|not found/i.test(error.output ?? "")) return [];
    throw error;
  }
}

/** `wrangler d1 migrations apply --remote`: the migrations the database has not had, in order. */
export function applyRemoteMigrations(config, binding) {
  return wrangler(["d1", "migrations", "apply", binding, "--remote"], { config, show: true });
}

/**
 * `wrangler deploy`, with the secrets in `secrets` ({name: value}) uploaded in the same version:
 * the secrets file names them only, wrangler reads their values from its environment.
 */
export function deployWorker(config, secretsFile, secrets) {
  const args = ["deploy", ...(Object.keys(secrets).length > 0 ? ["--secrets-file", secretsFile] : [])];
  return wrangler(args, { config, show: true, env: secrets });
}

/**
 * `wrangler deploy --dry-run --outdir`: the build and wrangler's own checks, nothing uploaded. Its
 * output shows the bindings exactly as a deploy would make them.
 */
export function dryRunBuild(config, outdir) {
  return wrangler(["deploy", "--dry-run", "--outdir", outdir], { config, show: true });
}
