import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { childEnv, devStartOutcome, listFiles, pathExists, readText, removeDir, runCommand, scratchDir, writeFiles, type CommandResult } from "./commands.mjs";

/**
 * `npm run deploy` as an operator runs it, with this deployment's values in a settings file of its
 * own (`--settings`, as keygate.deploy.json) and its secrets in the environment, as in CI. There is
 * no Cloudflare account here: `--dry-run` runs every check and the build, and the real deploy is
 * run only as far as its first step that needs an account.
 */

const secret = (length = 44) => randomBytes(48).toString("base64url").slice(0, length);
/** Secrets a deployed keygate accepts; ADMIN_TOKEN exactly as long as the rule's minimum. */
const strongSecrets = () => ({ ADMIN_TOKEN: secret(32), JWT_SECRET: secret(), ORIGIN_SIGNING_SECRET: secret() });
const D1_ID = "3f1c5e2a-1b2c-4d5e-8f90-123456789abc";
const KV_ID = "0123456789abcdef0123456789abcdef";
const WORKABLE = { vars: { ORIGIN_URL: "https://api.example.com" } };

let dir: string;
let runs = 0;

beforeAll(async () => {
  dir = await scratchDir("deploy");
});

afterAll(async () => {
  if (dir) await removeDir(dir);
});

/** `npm run deploy -- <args> --settings <file>` with `settings` in that file (none when undefined). */
async function deploy(args: string[], settings: object | undefined, env: Record<string, string>): Promise<CommandResult & { settingsFile: string; outdir: string }> {
  const run = ++runs;
  const settingsFile = `${dir}/run-${run}/keygate.deploy.json`;
  const outdir = `${dir}/run-${run}/dist`;
  await writeFiles(`${dir}/run-${run}`, settings === undefined ? {} : { "keygate.deploy.json": JSON.stringify(settings, null, 2) });
  const result = await runCommand("npm", ["run", "--silent", "deploy", "--", ...args, "--settings", settingsFile, "--outdir", outdir], { env: childEnv(env) });
  return { ...result, settingsFile, outdir };
}

describe("npm run deploy -- --dry-run", () => {
  it("passes a deployment that can work: builds the worker with this deployment's values and prints no secret", async () => {
    const secrets = strongSecrets();
    const settings = { ...WORKABLE, routes: [{ pattern: "api.example.com/*", zone_name: "example.com" }], d1_database_id: D1_ID, kv_namespace_id: KV_ID };
    const run = await deploy(["--dry-run"], settings, secrets);
    expect(run.code, run.output).toBe(0);
    expect(await listFiles(run.outdir)).toContain("index.js");
    // wrangler's own account of the bindings: the settings file's values, not wrangler.toml's.
    expect(run.stdout).toContain('env.ORIGIN_URL ("https://api.example.com")');
    expect(run.stdout).toContain(`env.KEYS_CACHE (${KV_ID})`);
    expect(run.stdout).toMatch(/routes\s+api\.example\.com\/\*/);
    expect(run.stdout).toContain(`database keygate (${D1_ID}`);
    expect(run.stdout).toMatch(/secrets\s+ADMIN_TOKEN, JWT_SECRET, ORIGIN_SIGNING_SECRET from the environment/);
    for (const value of Object.values(secrets)) expect(run.output).not.toContain(value);
  });

  it("without ids or routes yet: says it would find or create the database and namespace by name, and asks for absent secrets", async () => {
    const { ADMIN_TOKEN } = strongSecrets();
    const run = await deploy(["--dry-run"], WORKABLE, { ADMIN_TOKEN });
    expect(run.code, run.output).toBe(0);
    expect(run.stdout).toMatch(/D1\s+database keygate, found by name or created/);
    expect(run.stdout).toMatch(/KV\s+namespace keygate-KEYS_CACHE, found by name or created/);
    expect(run.stdout).toMatch(/JWT_SECRET, ORIGIN_SIGNING_SECRET asked for, unless the worker already has them/);
    expect(run.stdout).toMatch(/routes\s+none: the worker answers on its workers\.dev address/);
  });

  const refusals: [string, object | undefined, Record<string, string>, RegExp][] = [
    ["no settings at all: wrangler.toml's demo origin is this machine", undefined, strongSecrets(), /ORIGIN_URL is http:\/\/127\.0\.0\.1:8788, an address on this machine/],
    ["a loopback origin", { vars: { ORIGIN_URL: "http://localhost:3000" } }, strongSecrets(), /ORIGIN_URL is http:\/\/localhost:3000, an address on this machine, which Cloudflare's network cannot reach/],
    ["an origin on a private network", { vars: { ORIGIN_URL: "http://192.168.1.20" } }, strongSecrets(), /an address on a private network/],
    ["an empty origin", { vars: { ORIGIN_URL: "" } }, strongSecrets(), /ORIGIN_URL is not set, so keygate would have no API to send requests to/],
    ["an origin that is no URL", { vars: { ORIGIN_URL: "api.example.com" } }, strongSecrets(), /ORIGIN_URL \(api\.example\.com\) must be an http\(s\) URL/],
    ["wrangler.toml's placeholder D1 id", { ...WORKABLE, d1_database_id: "00000000-0000-0000-0000-000000000000" }, strongSecrets(), /d1_database_id in .*keygate\.deploy\.json is wrangler\.toml's placeholder/],
    ["wrangler.toml's placeholder KV id", { ...WORKABLE, kv_namespace_id: "00000000000000000000000000000000" }, strongSecrets(), /kv_namespace_id in .*keygate\.deploy\.json is wrangler\.toml's placeholder/],
    ["the example's placeholder secret", WORKABLE, { ...strongSecrets(), JWT_SECRET: "change-me-to-another-long-random-string" }, /JWT_SECRET is the placeholder from \.dev\.vars\.example/],
    ["a secret shorter than 32 characters", WORKABLE, { ...strongSecrets(), ADMIN_TOKEN: secret(31) }, /ADMIN_TOKEN is only 31 characters long \(at least 32 are needed\)/],
    ["a secret among the plain vars", { vars: { ...WORKABLE.vars, ADMIN_TOKEN: secret() } }, strongSecrets(), /ADMIN_TOKEN is a secret and never goes in/],
    ["a misspelt setting", { ...WORKABLE, route: [] }, strongSecrets(), /unknown setting "route"/],
  ];

  it.each(refusals)("refuses %s: one sentence, exit 2, nothing built", async (_, settings, env, sentence) => {
    const run = await deploy(["--dry-run"], settings, env);
    expect(run.code, run.output).toBe(2);
    expect(run.stderr).toContain("the deploy is refused; nothing was changed");
    const reasons = run.stderr.split("\n").filter((line) => line.startsWith("  - "));
    expect(reasons, run.stderr).toHaveLength(1);
    expect(reasons[0]).toMatch(sentence);
    expect(pathExists(run.outdir)).toBe(false);
    for (const value of Object.values(env)) expect(run.output).not.toContain(value);
  });
});

describe("npm run deploy without an account", () => {
  it("stops at its first step that needs one, says how to log in, and changes nothing", async () => {
    const settings = { ...WORKABLE };
    // Nowhere to find credentials: no token, and wrangler's own login kept in an empty home.
    const home = `${dir}/home`;
    await writeFiles(home, { ".keep": "" });
    const run = await deploy([], settings, { ...strongSecrets(), HOME: home, XDG_CONFIG_HOME: home, CLOUDFLARE_API_TOKEN: "", CLOUDFLARE_API_KEY: "", CLOUDFLARE_EMAIL: "", CLOUDFLARE_ACCOUNT_ID: "" });
    expect(run.code, run.output).toBe(1);
    expect(run.stderr).toContain("wrangler could not reach your Cloudflare account; nothing was changed");
    expect(run.stderr).toContain("CLOUDFLARE_API_TOKEN");
    expect(JSON.parse(await readText(run.settingsFile))).toEqual(settings);
  });
});

describe("npm run dev's start, by the same rules", () => {
  async function devStart(devVars: string) {
    const place = `${dir}/dev-${++runs}`;
    await writeFiles(place, { "dev.vars": devVars });
    const outcome = await devStartOutcome({ devVarsPath: `${place}/dev.vars`, persistTo: `${place}/state` });
    // Nothing was started: no local database was made.
    const made = pathExists(`${place}/state`) ? (await listFiles(`${place}/state`)).filter((file) => file.endsWith(".sqlite")) : [];
    return { ...outcome, made };
  }

  it("warns about the example's placeholder secret, then refuses an empty ORIGIN_URL with one sentence before starting anything", async () => {
    const { log, error, made } = await devStart(`ADMIN_TOKEN=change-me-to-a-long-random-string\nJWT_SECRET=${secret()}\nORIGIN_SIGNING_SECRET=${secret()}\nORIGIN_URL=\n`);
    expect(log.join("\n")).toMatch(/warning: ADMIN_TOKEN in .*dev\.vars is the placeholder from \.dev\.vars\.example: fine on this machine, refused by `npm run deploy`/);
    expect(error).toMatch(/^\S*dev\.vars sets ORIGIN_URL to nothing, so keygate would have no API to send requests to: .*or delete the line to use the demo origin\.$/);
    expect(made).toEqual([]);
  });

  it("refuses a JWT_SECRET shorter than the worker accepts; a short signing secret is only a warning", async () => {
    const { log, error, made } = await devStart(`ADMIN_TOKEN=${secret()}\nJWT_SECRET=${secret(20)}\nORIGIN_SIGNING_SECRET=${secret(12)}\n`);
    expect(log.join("\n")).toMatch(/warning: ORIGIN_SIGNING_SECRET in .*dev\.vars is only 12 characters long/);
    expect(error).toMatch(/JWT_SECRET in .*dev\.vars is only 20 characters long \(at least 32 are needed\), and keygate refuses it/);
    expect(error).not.toContain("ORIGIN_SIGNING_SECRET");
    expect(made).toEqual([]);
  });
});
