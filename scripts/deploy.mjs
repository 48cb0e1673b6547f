// `npm run deploy`: keygate on your Cloudflare account from this repository, in one command.
//   npm run deploy                 checks the settings, finds or creates the D1 database and the KV
//                                  namespace (by name), applies the migrations, asks for each missing
//                                  secret, deploys, and says what it did
//   npm run deploy -- --dry-run    every check and the build, without an account; nothing is changed
// Options: --settings <file>  this deployment's settings (default keygate.deploy.json, gitignored)
//          --outdir <dir>     where --dry-run leaves the bundle (default dist)
// This deployment's own values (origin, routes, ids) live in the settings file, never in the tracked
// wrangler.toml, so `git pull` before an upgrade never conflicts. The deploy runs wrangler with a
// configuration it builds from both, and keeps it beside the settings (keygate.deploy.wrangler.json)
// for any other wrangler command on this deployment: `npx wrangler tail -c keygate.deploy.wrangler.json`.
// Secrets (ADMIN_TOKEN, JWT_SECRET, ORIGIN_SIGNING_SECRET) come from the environment (CI) or are
// asked for in a terminal, unless the worker already has them. They are never printed and never
// written to disk: wrangler reads their values from its environment.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { experimental_readRawConfig } from "wrangler";
import { applyRemoteMigrations, deployWorker, dryRunBuild, findOrCreateD1, findOrCreateKv, secretNames } from "./cloudflare.mjs";
import { ROOT } from "./local.mjs";
import { deployRefusals, displayPath, SECRET_NAMES } from "./settings-checks.mjs";
import { weakSecret } from "../src/settings.ts";

const D1_BINDING = "DB";
const KV_BINDING = "KEYS_CACHE";
/** Exit status of a deploy refused for its settings (a failure on the way exits 1). */
const REFUSED = 2;

const USAGE = "usage: npm run deploy [-- --dry-run] [--settings keygate.deploy.json] [--outdir dist]";

async function main() {
  let options;
  try {
    ({ values: options } = parseArgs({
      options: {
        "dry-run": { type: "boolean", default: false },
        settings: { type: "string", default: join(ROOT, "keygate.deploy.json") },
        outdir: { type: "string", default: join(ROOT, "dist") },
        help: { type: "boolean", default: false },
      },
    }));
  } catch (error) {
    return fail(REFUSED, `${error.message}\n${USAGE}`);
  }
  if (options.help) return console.log(USAGE);
  const dryRun = options["dry-run"];
  const settingsPath = resolve(options.settings);
  const settings = readSettings(settingsPath);
  if (typeof settings === "string") return fail(REFUSED, settings);

  const { rawConfig: base } = experimental_readRawConfig({ config: join(ROOT, "wrangler.toml") });
  const vars = { ...base.vars, ...(isObject(settings.vars) ? settings.vars : {}) };
  const given = Object.fromEntries(SECRET_NAMES.filter((name) => process.env[name]).map((name) => [name, process.env[name]]));
  const refusals = deployRefusals({ settings, vars, secrets: given, file: settingsPath });
  if (refusals.length > 0) {
    return fail(REFUSED, `the deploy is refused; nothing was changed:\n${refusals.map((line) => `  - ${line}`).join("\n")}`);
  }

  const names = { d1: bindingOf(base.d1_databases, D1_BINDING).database_name, kv: `${base.name}-${KV_BINDING}` };
  const scratch = mkdtempSync(join(tmpdir(), "keygate-deploy-"));
  try {
    const plan = { settingsPath, settings, base, vars, names, given, scratch };
    if (dryRun) await dryRunDeploy(plan, resolve(options.outdir));
    else await deploy(plan);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** The settings file's content, {} when there is none yet, or a sentence saying why it cannot be read. */
function readSettings(path) {
  if (!existsSync(path)) return {};
  try {
    const settings = JSON.parse(readFileSync(path, "utf8"));
    return isObject(settings) ? settings : `${displayPath(path)} must hold one JSON object.`;
  } catch (error) {
    return `${displayPath(path)} is not valid JSON: ${error.message}`;
  }
}

/**
 * wrangler.toml with this deployment's values: its ids, vars, routes, account, written to `path`
 * (the scratch directory's wrangler.json when not given). Every path in it is absolute, so the
 * file works wherever it is.
 */
function deployConfig({ base, settings, vars, scratch }, ids, path = join(scratch, "wrangler.json")) {
  const inRepo = (path) => (isAbsolute(path) ? path : join(ROOT, path));
  const config = {
    ...base,
    ...(settings.account_id ? { account_id: settings.account_id } : {}),
    main: inRepo(base.main),
    ...(base.build ? { build: { ...base.build, cwd: inRepo(base.build.cwd ?? ".") } } : {}),
    ...(base.assets ? { assets: { ...base.assets, directory: inRepo(base.assets.directory) } } : {}),
    vars,
    ...(settings.routes ? { routes: settings.routes } : {}),
    d1_databases: base.d1_databases.map((db) =>
      db.binding === D1_BINDING ? { ...db, database_id: ids.d1 ?? db.database_id, migrations_dir: inRepo(db.migrations_dir ?? "migrations") } : db,
    ),
    kv_namespaces: base.kv_namespaces.map((kv) => (kv.binding === KV_BINDING ? { ...kv, id: ids.kv ?? kv.id } : kv)),
    // wrangler's own guard too: a first deploy without every secret fails, later ones keep them.
    secrets: { required: [...SECRET_NAMES] },
  };
  writeFileSync(path, `${JSON.stringify(config, null, 2)}\n`);
  return path;
}

async function dryRunDeploy(plan, outdir) {
  const { settings, vars, names, given } = plan;
  const config = deployConfig(plan, { d1: settings.d1_database_id, kv: settings.kv_namespace_id });
  try {
    await dryRunBuild(config, outdir);
  } catch (error) {
    return fail(1, `the build failed; nothing was changed.\n${error.message}`);
  }
  const missing = SECRET_NAMES.filter((name) => !given[name]);
  report("dry run: every check passed and the worker was built; nothing on your account was touched. A deploy would use:", [
    ["settings", existsSync(plan.settingsPath) ? displayPath(plan.settingsPath) : `none yet (${displayPath(plan.settingsPath)})`],
    ["origin", originLine(vars)],
    ["D1", resourceLine("database", names.d1, settings.d1_database_id, plan.settingsPath)],
    ["KV", resourceLine("namespace", names.kv, settings.kv_namespace_id, plan.settingsPath)],
    ["migrations", "every migration in migrations/ the database has not had (wrangler d1 migrations apply --remote)"],
    ["secrets", [
      Object.keys(given).length > 0 ? `${Object.keys(given).join(", ")} from the environment` : "",
      missing.length > 0 ? `${missing.join(", ")} asked for, unless the worker already has them` : "",
    ].filter(Boolean).join("; ")],
    ["routes", routesLine(settings.routes)],
    ["bundle", displayPath(outdir)],
  ]);
}

async function deploy(plan) {
  const { settingsPath, settings, vars, names, given, scratch } = plan;
  // Before anything exists the account only needs reaching: the settings' own ids, or placeholders.
  const probe = deployConfig(plan, {});
  const [d1, kv] = [
    settings.d1_database_id ? { id: settings.d1_database_id, how: `from ${displayPath(settingsPath)}` } : null,
    settings.kv_namespace_id ? { id: settings.kv_namespace_id, how: `from ${displayPath(settingsPath)}` } : null,
  ];
  let has;
  try {
    has = new Set(await secretNames(probe));
  } catch (error) {
    return fail(1, `wrangler could not reach your Cloudflare account; nothing was changed. Log in with \`npx wrangler login\`, or in CI set CLOUDFLARE_API_TOKEN (and CLOUDFLARE_ACCOUNT_ID).\n${error.message}`);
  }
  const secrets = { ...given };
  for (const name of SECRET_NAMES.filter((n) => !secrets[n] && !has.has(n))) {
    if (!process.stdin.isTTY) {
      return fail(REFUSED, `${name} is not set on the worker: set it in the environment (a CI secret), or run \`npm run deploy\` in a terminal to be asked for it.`);
    }
    secrets[name] = await askSecret(name);
  }

  const db = d1 ?? described(await findOrCreateD1(probe, names.d1));
  const ns = kv ?? described(await findOrCreateKv(probe, names.kv));
  if (settings.d1_database_id !== db.id || settings.kv_namespace_id !== ns.id) {
    writeFileSync(settingsPath, `${JSON.stringify({ ...settings, d1_database_id: db.id, kv_namespace_id: ns.id }, null, 2)}\n`);
  }
  // Kept beside the settings: other wrangler commands for this deployment take it with -c.
  const config = deployConfig(plan, { d1: db.id, kv: ns.id }, wranglerConfigPath(settingsPath));
  const migrations = await applyRemoteMigrations(config, D1_BINDING);
  // Names only: wrangler takes each value from its environment (a dotenv file's empty value gives way to it).
  const secretsFile = join(scratch, "secrets.env");
  writeFileSync(secretsFile, Object.keys(secrets).map((name) => `${name}=\n`).join(""));
  const deployed = await deployWorker(config, secretsFile, secrets);

  const url = /https:\/\/\S+\.workers\.dev/.exec(deployed)?.[0];
  report("deployed:", [
    ["worker", url ? `${plan.base.name} at ${url}` : plan.base.name],
    ["origin", originLine(vars)],
    ["D1", `database ${names.d1} (${db.id}), ${db.how}`],
    ["KV", `namespace ${names.kv} (${ns.id}), ${ns.how}`],
    ["migrations", /No migrations to apply/i.test(migrations) ? "none to apply" : "applied"],
    ["secrets", SECRET_NAMES.map((name) => `${name} ${secrets[name] ? (given[name] ? "set from the environment" : "set as you typed it") : "kept"}`).join(", ")],
    ["routes", routesLine(settings.routes)],
    ["settings", `ids saved in ${displayPath(settingsPath)}; wrangler's configuration in ${displayPath(config)} (wrangler … -c ${displayPath(config)})`],
  ]);
}

/** keygate.deploy.json → keygate.deploy.wrangler.json, beside it. */
function wranglerConfigPath(settingsPath) {
  return settingsPath.replace(/(\.json)?$/, ".wrangler.json");
}

function described({ id, created }) {
  return { id, how: created ? "created" : "found by name" };
}

/** Asks for a secret without echoing it; asks again while the answer is one the deploy refuses. */
async function askSecret(name) {
  for (;;) {
    const value = (await readHidden(`${name} (not shown; \`openssl rand -base64 32\` makes one): `)).trim();
    const problem = weakSecret(value);
    if (!problem) return value;
    console.error(`${name} ${problem}; try again.`);
  }
}

function readHidden(prompt) {
  return new Promise((done, failed) => {
    const stdin = process.stdin;
    process.stdout.write(prompt);
    stdin.setRawMode(true);
    stdin.setEncoding("utf8");
    stdin.resume();
    let value = "";
    const finish = (settle) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.removeListener("data", onData);
      process.stdout.write("\n");
      settle();
    };
    const onData = (chunk) => {
      for (const char of chunk) {
        if (char === "\r" || char === "\n") return finish(() => done(value));
        if (char === "\u0003") return finish(() => failed(new Error("cancelled; nothing was changed")));
        if (char === "\u007f" || char === "\b") value = value.slice(0, -1);
        else value += char;
      }
    };
    stdin.on("data", onData);
  });
}

function originLine(vars) {
  return [`ORIGIN_URL ${vars.ORIGIN_URL.trim()}`, vars.ORIGIN_URL_TEST?.trim() ? `ORIGIN_URL_TEST ${vars.ORIGIN_URL_TEST.trim()}` : ""].filter(Boolean).join(", ");
}

function resourceLine(kind, name, id, settingsPath) {
  return id ? `${kind} ${name} (${id}, from ${displayPath(settingsPath)})` : `${kind} ${name}, found by name or created`;
}

function routesLine(routes) {
  if (!routes?.length) return "none: the worker answers on its workers.dev address";
  return routes.map((route) => (typeof route === "string" ? route : route.pattern)).join(", ");
}

function report(title, rows) {
  const width = Math.max(...rows.map(([label]) => label.length));
  console.log(`keygate: ${title}\n${rows.map(([label, text]) => `  ${label.padEnd(width)}  ${text}`).join("\n")}`);
}

function bindingOf(list, binding) {
  const found = (list ?? []).find((entry) => entry.binding === binding);
  if (!found) throw new Error(`wrangler.toml has no ${binding} binding`);
  return found;
}

function isObject(value) {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function fail(status, message) {
  console.error(`keygate: ${message}`);
  process.exitCode = status;
}

main().catch((error) => fail(1, error.message));
