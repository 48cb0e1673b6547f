import { spawn, spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { TOTP } from "otpauth";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startKeygate, type Keygate } from "./support.mjs";

// Issue 13's acceptance run: the real `keygate` bin, built as `npm ci` builds it and run as a
// child process, against keygate under `wrangler dev`.

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const BUNDLE = join(ROOT, "dist-cli", "keygate.cjs");
/** The CLI needs Node 22+: the pinned `node` devDependency when this runs on an older one. */
const NODE = Number(process.versions.node.split(".")[0]) >= 22 ? process.execPath : join(ROOT, "node_modules", "node", "bin", "node");

const EMAIL = "ops@example.com";
const PASSWORD = "correct horse battery staple";

let kg: Keygate;
let configHome: string;
const credentialsFile = () => join(configHome, "keygate", "credentials.json");

beforeAll(async () => {
  const build = spawnSync(NODE, [join(ROOT, "cli", "build.mjs")], { encoding: "utf8" });
  if (build.status !== 0) throw new Error(`building the CLI failed: ${build.stderr}`);
  configHome = await mkdtemp(join(tmpdir(), "keygate-cli-"));
  kg = await startKeygate();
});
afterAll(async () => {
  await kg?.stop();
  if (configHome) await rm(configHome, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `keygate ARGS` with its own config directory, KEYGATE_URL at this keygate, and `input` as standard input. */
function keygate(args: string[], { input = "", env = {} }: { input?: string; env?: Record<string, string> } = {}): Promise<Run> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("KEYGATE_")));
  return new Promise((resolve, reject) => {
    const child = spawn(NODE, [BUNDLE, ...args], {
      env: { ...inherited, XDG_CONFIG_HOME: configHome, KEYGATE_URL: kg?.url ?? "", ...env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

const asRoot = () => ({ env: { KEYGATE_TOKEN: kg.adminToken } });

/** The gateway's answer to the key, as an API's client sees it. */
async function statusWith(key: string): Promise<number> {
  const res = await fetch(`${kg.url}/hello`, { headers: { "x-api-key": key } });
  await res.arrayBuffer();
  return res.status;
}

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function storedSession(): Promise<{ access_token: string; expires_at: string }> {
  return JSON.parse(await readFile(credentialsFile(), "utf8")).sessions[kg.url];
}

async function editStoredSession(change: Record<string, string>): Promise<void> {
  const file = JSON.parse(await readFile(credentialsFile(), "utf8"));
  Object.assign(file.sessions[kg.url], change);
  await writeFile(credentialsFile(), JSON.stringify(file), { mode: 0o600 });
}

/**
 * `keygate ARGS` at a terminal (a pseudo-terminal from util-linux's `script`), answering `answer`
 * to its confirmation question once it is asked. Standard output and error arrive together.
 */
function keygateAtTerminal(args: string[], answer: string, env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const quote = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("KEYGATE_")));
  return new Promise((resolve, reject) => {
    const child = spawn("script", ["-qfec", [NODE, BUNDLE, ...args].map(quote).join(" "), "/dev/null"], {
      env: { ...inherited, XDG_CONFIG_HOME: configHome, KEYGATE_URL: kg.url, TERM: "dumb", ...env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let output = "";
    let answered = false;
    child.stdout.on("data", (chunk) => {
      output += chunk;
      if (!answered && output.includes("[y/N]")) {
        answered = true;
        child.stdin.write(`${answer}\r`);
      }
    });
    child.stderr.on("data", (chunk) => (output += chunk));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, output: output.replace(/\r\n/g, "\n") }));
  });
}

/** The API's own document, to hold the CLI's choices against. */
async function apiDocument(): Promise<{
  components: { schemas: Record<string, { properties: Record<string, { enum?: string[] }> }> };
  paths: Record<string, Record<string, { parameters?: Array<{ name: string; in: string; schema: { enum?: string[] } }> }>>;
}> {
  const res = await fetch(`${kg.url}/_keygate/openapi.json`);
  expect(res.status).toBe(200);
  return res.json() as never;
}

/** The values `--help` of `command` lists for `option`, as commander prints them: (choices: "a", "b"). */
async function offeredChoices(command: string[], option: string): Promise<string[]> {
  const help = await keygate([...command, "--help"]);
  expect(help.code, help.stderr).toBe(0);
  const flat = help.stdout.replace(/\s+/g, " ");
  const listed = new RegExp(`${option} <[^>]+>(?:(?! --)[^])*?\\(choices: ([^)]*)\\)`).exec(flat)?.[1];
  expect(listed, `${command.join(" ")} ${option}`).toBeDefined();
  return [...listed!.matchAll(/"([^"]+)"/g)].map((m) => m[1]!);
}

/** One line on standard error, never a stack trace. */
function oneLine(run: Run): string {
  expect(run.stderr.trim().split("\n")).toHaveLength(1);
  expect(run.stderr).not.toMatch(/\n\s+at /);
  return run.stderr.trim();
}

describe("keygate on the command line", () => {
  it("walks an operator from sign-in to the audit trail", async () => {
    // The first owner, made with the root token; the password comes from standard input.
    const owner = await keygate(["admins", "create", EMAIL, "--role", "owner", "--json"], { input: `${PASSWORD}\n`, ...asRoot() });
    expect(owner.code, owner.stderr).toBe(0);
    expect(JSON.parse(owner.stdout)).toMatchObject({ object: "admin", email: EMAIL, role: "owner" });

    // A wrong password: exit 1 with the API's message and code, and nothing stored.
    const wrong = await keygate(["login", "--email", EMAIL], { input: "not the password\n" });
    expect(wrong.code).toBe(1);
    expect(oneLine(wrong)).toMatch(/The email or password is not correct\. \(invalid_credentials, req_\w+\)/);
    await expect(stat(credentialsFile())).rejects.toThrow();

    const login = await keygate(["login", "--email", EMAIL], { input: `${PASSWORD}\n` });
    expect(login.code, login.stderr).toBe(0);
    expect(login.stdout).toBe("");
    expect(login.stderr).toContain(`Signed in to ${kg.url} as ${EMAIL} (owner)`);
    expect((await stat(credentialsFile())).mode & 0o777).toBe(0o600);
    expect((await stat(dirname(credentialsFile()))).mode & 0o777).toBe(0o700);

    const whoami = await keygate(["whoami", "--json"]);
    expect(whoami.code, whoami.stderr).toBe(0);
    expect(JSON.parse(whoami.stdout)).toMatchObject({ url: kg.url, kind: "admin", email: EMAIL, role: "owner" });

    // --quiet: the new tenant's id alone.
    const tenantRun = await keygate(["tenants", "create", "Acme"], {});
    expect(tenantRun.code, tenantRun.stderr).toBe(0);
    expect(tenantRun.stdout).toMatch(/^ID\s+NAME\s+STATUS\s+QUOTAS\s+CREATED\nten_\w+\s+Acme\s+active\s+-\s/);
    const tenant = (await keygate(["tenants", "create", "Globex", "--quiet"])).stdout.trim();
    expect(tenant).toMatch(/^ten_\w+$/);

    // --quiet: the id and the key, tab-separated on one line, so a script has both at once.
    const created = await keygate([
      "keys", "create", "--tenant", tenant, "--name", "billing", "--scope", "read", "--scope", "write",
      "--expires", "30d", "--limit", "100/1m", "--quiet",
    ]);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/^key_\w+\tkg_live_\S+\n$/);
    expect(created.stderr).toBe("");
    const [createdId, key] = created.stdout.trim().split("\t") as [string, string];
    expect(await statusWith(key)).toBe(200);

    // --json: the API's JSON, exactly.
    const listed = await keygate(["keys", "list", "--tenant", tenant, "--json"]);
    expect(listed.code, listed.stderr).toBe(0);
    const page = JSON.parse(listed.stdout);
    expect(page).toMatchObject({ object: "list", has_more: false });
    expect(page.data).toHaveLength(1);
    const [first] = page.data;
    expect(first.id).toBe(createdId);
    expect(first).toMatchObject({ name: "billing", scopes: ["read", "write"], rate_limit: { limit: 100, window_seconds: 60 }, status: "active" });
    expect(Math.abs(Date.parse(first.expires_at) - (Date.now() + 30 * 86_400_000))).toBeLessThan(120_000);
    const table = await keygate(["keys", "list", "--tenant", tenant]);
    expect(table.stdout).toMatch(new RegExp(`^ID\\s+NAME\\s+ENV\\s+STATUS\\s+KEY\\s+SCOPES\\s+LIMITS\\s+EXPIRES\\n${first.id}\\s+billing\\s+live\\s+active\\s+kg_live_`));
    expect(table.stdout).not.toContain(key);

    // Rotate with grace: both keys work during it.
    const rotated = await keygate(["keys", "rotate", first.id, "--grace", "15m", "--json"]);
    expect(rotated.code, rotated.stderr).toBe(0);
    const next = JSON.parse(rotated.stdout);
    expect(next).toMatchObject({ object: "api_key", rotated_from: first.id, key: expect.stringMatching(/^kg_live_/) });
    expect(await statusWith(key)).toBe(200);
    expect(await statusWith(next.key)).toBe(200);
    const old = JSON.parse((await keygate(["keys", "get", first.id, "--json"])).stdout);
    expect(Date.parse(old.expires_at) - Date.now()).toBeGreaterThan(13 * 60_000);

    // Revoke: no terminal on standard input, so --yes says go; the next request is refused.
    const revoked = await keygate(["keys", "revoke", next.id, "--yes"]);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toMatch(/^id\s+key_\w+\n/);
    expect(revoked.stdout).toMatch(/\nstatus\s+revoked\n/);
    expect(revoked.stderr).toContain(`Revoked ${next.id}.`);
    expect(await statusWith(next.key)).toBe(401);

    // Usage of the old key: the gateway calls above were counted.
    const usage = await keygate(["usage", first.id, "--json"]);
    expect(usage.code, usage.stderr).toBe(0);
    expect(JSON.parse(usage.stdout)).toMatchObject({ object: "key_usage", key_id: first.id, requests: 2 });

    const deleted = await keygate(["keys", "delete", first.id, "--yes"]);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(await statusWith(key)).toBe(401);

    // The audit trail has every step, by this admin; the table shows them too.
    const audit = await keygate(["audit", "--limit", "100", "--json"]);
    expect(audit.code, audit.stderr).toBe(0);
    const events: Array<{ action: string; actor: { type: string; id: string } }> = JSON.parse(audit.stdout).data;
    const actions = events.map((e) => e.action);
    for (const action of ["admin.created", "signin.failed", "admin.signed_in", "tenant.created", "key.created", "key.rotated", "key.revoked", "key.deleted"]) {
      expect(actions).toContain(action);
    }
    const adminId = JSON.parse(owner.stdout).id;
    expect(events.filter((e) => e.action.startsWith("key.")).every((e) => e.actor.id === adminId)).toBe(true);
    const revocations = await keygate(["audit", "--action", "key.revoked", "--actor", adminId]);
    expect(revocations.stdout).toMatch(new RegExp(`^TIME\\s+ACTION\\s+ACTOR\\s+RESOURCE\\s+REQUEST\\n\\S+\\s+key\\.revoked\\s+admin:${adminId}\\s+api_key:${next.id}\\s+req_\\w+\\n$`));

    // Suspend and reactivate a tenant.
    const suspended = await keygate(["tenants", "suspend", tenant, "--yes", "--json"]);
    expect(JSON.parse(suspended.stdout)).toMatchObject({ id: tenant, status: "suspended" });
    const activated = await keygate(["tenants", "activate", tenant]);
    expect(activated.stdout).toMatch(new RegExp(`${tenant}\\s+Globex\\s+active`));
    const tenants = JSON.parse((await keygate(["tenants", "list", "--json"])).stdout);
    expect(tenants.data.map((t: { name: string }) => t.name).sort()).toEqual(["Acme", "Globex"]);

    // Admins: a viewer made by the owner, listed, removed.
    const viewer = await keygate(["admins", "create", "dana@example.com", "--role", "viewer", "--json"], { input: `${PASSWORD}!\n` });
    expect(viewer.code, viewer.stderr).toBe(0);
    const viewerId = JSON.parse(viewer.stdout).id;
    expect((await keygate(["admins", "list"])).stdout).toMatch(/dana@example\.com\s+viewer\s+never/);
    expect((await keygate(["admins", "remove", viewerId, "--yes"])).code).toBe(0);
    expect(JSON.parse((await keygate(["admins", "list", "--json"])).stdout).data).toHaveLength(1);
  });

  it("prints an API refusal as one line with its message and code, exit 1", async () => {
    const missing = await keygate(["keys", "get", "key_doesNotExist"]);
    expect(missing.code).toBe(1);
    expect(oneLine(missing)).toMatch(/^keygate: No such key\. \(not_found, req_\w+\)$/);
    const invalid = await keygate(["tenants", "create", " "]);
    expect(invalid.code).toBe(1);
    expect(oneLine(invalid)).toMatch(/^keygate: The request is not valid\. name .+ \(invalid_request, req_\w+\)$/);
    const badToken = await keygate(["tenants", "list"], { env: { KEYGATE_TOKEN: "not-the-root-token-not-the-root-token" } });
    expect(badToken.code).toBe(1);
    expect(oneLine(badToken)).toMatch(/The admin token is not valid\. \(invalid_token, req_\w+\) Check KEYGATE_TOKEN\.$/);
  });

  it("refreshes a stored token close to expiry, and asks for a new login once it has expired", async () => {
    const before = await storedSession();
    await editStoredSession({ expires_at: new Date(Date.now() + 60_000).toISOString() });
    const run = await keygate(["tenants", "list"]);
    expect(run.code, run.stderr).toBe(0);
    const after = await storedSession();
    expect(after.access_token).not.toBe(before.access_token);
    expect(Date.parse(after.expires_at) - Date.now()).toBeGreaterThan(55 * 60_000);
    expect((await stat(credentialsFile())).mode & 0o777).toBe(0o600);

    await editStoredSession({ expires_at: new Date(Date.now() - 1000).toISOString() });
    const expired = await keygate(["tenants", "list"]);
    expect(expired.code).toBe(1);
    expect(oneLine(expired)).toContain("has expired. Run `keygate login` again.");
  });

  it("logout forgets the token; without one, commands say how to sign in", async () => {
    const logout = await keygate(["logout"]);
    expect(logout.code).toBe(0);
    expect(logout.stderr).toContain(`Signed out of ${kg.url}.`);
    await expect(stat(credentialsFile())).rejects.toThrow();
    const run = await keygate(["tenants", "list"]);
    expect(run.code).toBe(1);
    expect(oneLine(run)).toBe(`keygate: not signed in to ${kg.url}: run \`keygate login\` or set KEYGATE_TOKEN.`);
  });

  it("exits 3 when keygate cannot be reached", async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const run = await keygate(["tenants", "list", "--url", url], asRoot());
    expect(run.code).toBe(3);
    expect(oneLine(run)).toBe(`keygate: cannot reach keygate at ${url}: connection refused`);
    const login = await keygate(["login", "--email", EMAIL], { input: `${PASSWORD}\n`, env: { KEYGATE_URL: url } });
    expect(login.code).toBe(3);
  });

  it("exits 2 on bad usage, before anything is sent", async () => {
    // Pointed at a closed port: had a request been made, the exit code would be 3.
    const env = { KEYGATE_URL: `http://127.0.0.1:${await closedPort()}`, KEYGATE_TOKEN: kg.adminToken };
    const cases: Array<[string[], RegExp]> = [
      [["keys", "list", "--tenant", "ten_abc", "--bogus"], /unknown option '--bogus'/],
      [["tenant", "list"], /unknown command 'tenant' \(Did you mean tenants\?\)/],
      [["keys", "list"], /required option '--tenant <id>' not specified/],
      [["keys", "create", "--tenant", "ten_abc", "--expires", "soon"], /'--expires <when>' argument 'soon' is invalid/],
      [["keys", "create", "--tenant", "ten_abc", "--expires", "2001-01-01"], /must be in the future/],
      [["keys", "create", "--tenant", "ten_abc", "--limit", "60"], /REQUESTS\/WINDOW/],
      [["keys", "create", "--tenant", "ten_abc", "--limit", "60/32d"], /1 second to 31 days/],
      [["keys", "create", "--tenant", "ten_abc", "--quiet", "--json"], /--quiet and --json cannot be used together/],
      [["keys", "create", "--tenant", "ten_abc", "--scope", "read", "--scope", "servers:*"], /'--scope <scope>' argument 'servers:\*' is invalid\. A scope must look like "read", "write:servers" or "\*"\./],
      [["keys", "rotate", "key_abc", "--grace", "31d"], /at most 30d/],
      [["keys", "get", "ten_abc"], /Expected a key id \(key_…\)/],
      [["tenants", "list", "--url", "ftp://example.com"], /must be http:\/\/ or https:\/\//],
      [["login"], /--email is required when standard input is not a terminal/],
      [["audit", "--limit", "500"], /Expected a number from 1 to 100/],
      [["tenants", "create", "a", "b"], /too many arguments/],
      [["keys", "create", "--tenant", "ten_abc", "--window", "5/1s", "--window", "9/1s"], /--window: the name "per-1s" is used by two windows/],
      [["keys", "create", "--tenant", "ten_abc", "--window", "credits=5/1s"], /"credits" is reserved for the key's credits/],
      [["keys", "create", "--tenant", "ten_abc", ...["a", "b", "c", "d", "e"].flatMap((name) => ["--window", `${name}=1/1s`])], /a key must have at most 4 windows/],
      [["keys", "create", "--tenant", "ten_abc", "--window", "Burst=5/1s"], /A window's name must be 1-32 lower-case letters/],
      [["keys", "create", "--tenant", "ten_abc", "--limit", "5/1s", "--window", "a=5/1s"], /--limit and --window cannot be used together/],
      [["keys", "create", "--tenant", "ten_abc", "--refill", "10/month"], /--refill and --anchor-day need --credits/],
      [["keys", "credits", "set", "key_abc", "--remaining", "-1"], /Credits must be a whole number from 0/],
      [["keys", "credits", "set", "key_abc", "--remaining", "5", "--refill", "10/week"], /Expected AMOUNT\/PERIOD, like 1000\/month \(periods: day, month\)/],
      [["keys", "credits", "set", "key_abc", "--remaining", "5", "--refill", "10/day", "--anchor-day", "3"], /--anchor-day is only for a month period/],
      [["tenants", "quota", "set", "ten_abc", "--env", "live", "--limit", "0", "--period", "day"], /A quota must be a whole number from 1/],
      [["tenants", "quota", "set", "ten_abc", "--env", "live", "--limit", "10"], /required option '--period <period>' not specified/],
      [["tenants", "quota", "set", "ten_abc", "--env", "live", "--limit", "10", "--period", "month", "--anchor-day", "32"], /The anchor day must be a whole number from 1 to 31/],
      [["tenants", "quota", "remove", "ten_abc", "--env", "staging"], /Allowed choices are live, test/],
      [["usage", "export", "ten_abc", "--from", "2026-02-31"], /Expected a day like 2026-11-01/],
    ];
    for (const [args, message] of cases) {
      const run = await keygate(args, { env });
      expect(run.code, args.join(" ")).toBe(2);
      expect(oneLine(run), args.join(" ")).toMatch(message);
      expect(run.stdout, args.join(" ")).toBe("");
    }
  });

  it("has --help with an example on every command, also through npm run", async () => {
    const commands = [
      [], ["login"], ["logout"], ["whoami"], ["usage"], ["audit"],
      ["tenants"], ["tenants", "list"], ["tenants", "create"], ["tenants", "suspend"], ["tenants", "activate"], ["tenants", "get"],
      ["keys"], ["keys", "list"], ["keys", "get"], ["keys", "create"], ["keys", "rotate"], ["keys", "revoke"], ["keys", "delete"],
      ["admins"], ["admins", "list"], ["admins", "create"], ["admins", "remove"],
      ["oauth-clients"], ["oauth-clients", "list"], ["oauth-clients", "get"], ["oauth-clients", "create"], ["oauth-clients", "update"],
      ["oauth-clients", "secret"], ["oauth-clients", "delete"],
      ["oauth-grants"], ["oauth-grants", "list"], ["oauth-grants", "revoke"], ["oauth-grants", "revoke-user"],
      ["usage", "export"], ["tenants", "quota"], ["tenants", "quota", "show"], ["tenants", "quota", "set"], ["tenants", "quota", "remove"],
      ["keys", "credits"], ["keys", "credits", "show"], ["keys", "credits", "set"], ["keys", "credits", "remove"],
    ];
    for (const command of commands) {
      const run = await keygate([...command, "--help"]);
      expect(run.code, command.join(" ")).toBe(0);
      expect(run.stdout, command.join(" ")).toMatch(/^Usage: keygate/);
      expect(run.stdout, command.join(" ")).toMatch(/\nExamples?:\n  \$ .*keygate /);
    }
    // What a user types in a checkout, on the machine's own Node (npm runs the pinned one).
    const npm = spawnSync("npm", ["run", "--silent", "keygate", "--", "keys", "create", "--help"], { cwd: ROOT, encoding: "utf8" });
    expect(npm.status, npm.stderr).toBe(0);
    expect(npm.stdout).toMatch(/^Usage: keygate keys create/);
  });
});

describe("paid plans from the command line", () => {
  it("sets a tenant's quota, creates a key with windows and credits, and changes them, each in force for the next request", async () => {
    const tenant = await kg.admin.createTenant("Initech");
    const set = await keygate(["tenants", "quota", "set", tenant.id, "--env", "live", "--limit", "3", "--period", "day"], asRoot());
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toMatch(new RegExp(`^tenant\\s+${tenant.id} \\(Initech\\)\\nlive\\s+3 a day: 0 used, 3 left, resets \\d{4}-\\d\\d-\\d\\dT00:00:00Z\\ntest\\s+none\\n$`));
    expect(set.stderr).toBe(`Set the live quota of ${tenant.id}.\n`);

    const created = await keygate(
      ["keys", "create", "--tenant", tenant.id, "--window", "burst=20/1s", "--window", "10000/1h", "--credits", "5", "--refill", "100/month", "--anchor-day", "15", "--json"],
      asRoot(),
    );
    expect(created.code, created.stderr).toBe(0);
    const key = JSON.parse(created.stdout);
    expect(key.rate_limits).toEqual([
      { name: "burst", limit: 20, window_seconds: 1 },
      { name: "per-1h", limit: 10_000, window_seconds: 3600 },
    ]);
    expect(key.credits).toMatchObject({ remaining: 5, refill: { amount: 100, interval: "month", anchor_day: 15 } });
    expect([await statusWith(key.key), await statusWith(key.key), await statusWith(key.key), await statusWith(key.key)]).toEqual([200, 200, 200, 429]);

    const shown = await keygate(["tenants", "quota", "show", tenant.id], asRoot());
    expect(shown.stdout).toMatch(/\nlive\s+3 a day: 3 used, 0 left, resets /);
    const credits = await keygate(["keys", "credits", "show", key.id], asRoot());
    expect(credits.stdout).toMatch(new RegExp(`^key\\s+${key.id}\\ncredits\\s+2 left, refilled to 100 each month from day 15 \\(next \\S+Z\\)\\n$`));
    const get = await keygate(["keys", "get", key.id], asRoot());
    expect(get.stdout).toMatch(/\nrate limits\s+burst 20\/1s, per-1h 10000\/1h\ncredits\s+2 left, /);

    const removed = await keygate(["tenants", "quota", "remove", tenant.id, "--env", "live"], asRoot());
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toMatch(/\nlive\s+none\n/);
    expect([await statusWith(key.key), await statusWith(key.key), await statusWith(key.key)]).toEqual([200, 200, 429]);

    const topped = await keygate(["keys", "credits", "set", key.id, "--remaining", "1", "--refill", "1000/day"], asRoot());
    expect(topped.code, topped.stderr).toBe(0);
    expect(topped.stdout).toMatch(/\ncredits\s+1 left, refilled to 1000 each day \(next /);
    expect([await statusWith(key.key), await statusWith(key.key)]).toEqual([200, 429]);
    const none = await keygate(["keys", "credits", "remove", key.id], asRoot());
    expect(none.stdout).toMatch(/\ncredits\s+none: its requests spend no credits\n$/);
    expect(await statusWith(key.key)).toBe(200);
  });

  it("exports a tenant's usage as CSV a spreadsheet opens, or as JSON, to standard output or a file", async () => {
    const tenant = await kg.admin.createTenant("Hooli, Inc.");
    const today = new Date().toISOString().slice(0, 10);
    const csv = await keygate(["usage", "export", tenant.id, "--from", today, "--to", today], asRoot());
    expect(csv.code, csv.stderr).toBe(0);
    expect(csv.stdout).toBe(
      `\uFEFFtenant_id,tenant_name,date,admitted_requests,cost_units,rate_limited,usage_exceeded,quota_exceeded,other_refusals\r\n${tenant.id},"Hooli, Inc.",${today},0,0,0,0,0,0\r\n`,
    );
    const json = await keygate(["usage", "export", tenant.id, "--format", "json"], asRoot());
    expect(JSON.parse(json.stdout)).toMatchObject({ object: "usage_export", tenant_id: tenant.id, tenant_name: "Hooli, Inc." });
    const file = join(configHome, "usage.csv");
    const written = await keygate(["usage", "export", tenant.id, "--from", today, "--to", today, "--output", file], asRoot());
    expect(written.code, written.stderr).toBe(0);
    expect(written.stdout).toBe("");
    expect(await readFile(file, "utf8")).toBe(csv.stdout);
  });
});

describe("one vocabulary, shared with the API", () => {
  it("offers exactly the API's roles, statuses, environments and plan periods", async () => {
    const { components, paths } = await apiDocument();
    const schema = (name: string, field: string) => components.schemas[name]!.properties[field]!.enum;
    const query = (path: string, name: string) => paths[`/_keygate/v1${path}`]!.get!.parameters!.find((p) => p.in === "query" && p.name === name)!.schema.enum;
    const pairs: Array<[string[], string, string[] | undefined]> = [
      [["admins", "create"], "--role", schema("AdminCreate", "role")],
      [["tenants", "list"], "--status", query("/tenants", "status")],
      [["keys", "list"], "--status", query("/keys", "status")],
      [["keys", "list"], "--environment", query("/keys", "environment")],
      [["keys", "create"], "--environment", schema("KeyCreate", "environment")],
      [["oauth-clients", "create"], "--type", schema("OAuthClientCreate", "type")],
      [["oauth-grants", "list"], "--status", query("/oauth-grants", "status")],
      [["tenants", "quota", "set"], "--period", schema("QuotaInput", "period")],
      [["tenants", "quota", "set"], "--env", Object.keys(components.schemas.QuotasInput!.properties)],
      [["usage", "export"], "--format", query("/tenants/{id}/usage/export", "format")],
    ];
    for (const [command, option, api] of pairs) {
      expect(api, `${command.join(" ")} ${option}`).toBeDefined();
      expect(await offeredChoices(command, option), `${command.join(" ")} ${option}`).toEqual(api);
    }
    expect(schema("AdminCreate", "role")).toContain("verifier");
  });

  it("creates a verifier, the role the verify route needs", async () => {
    const created = await keygate(["admins", "create", "checks@example.com", "--role", "verifier", "--json"], { input: `${PASSWORD}\n`, ...asRoot() });
    expect(created.code, created.stderr).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({ object: "admin", email: "checks@example.com", role: "verifier" });
    expect((await keygate(["admins", "list"], asRoot())).stdout).toMatch(/checks@example\.com\s+verifier\s/);
  });

  it("refuses a word outside the vocabulary, naming the same list as the API does", async () => {
    const admins = async () => JSON.parse((await keygate(["admins", "list", "--json"], asRoot())).stdout).data.length;
    const before = await admins();
    const cases: Array<{ cli: string[]; option: string; value: string; api: { method: string; path: string; body?: unknown; field: string } }> = [
      {
        cli: ["admins", "create", "x@example.com", "--role", "superuser"],
        option: "--role <role>",
        value: "superuser",
        api: { method: "POST", path: "/admins", body: { email: "x@example.com", password: PASSWORD, role: "superuser" }, field: "role" },
      },
      { cli: ["tenants", "list", "--status", "paused"], option: "--status <status>", value: "paused", api: { method: "GET", path: "/tenants?status=paused", field: "status" } },
      { cli: ["keys", "list", "--tenant", "ten_abc", "--environment", "staging"], option: "--environment <env>", value: "staging", api: { method: "GET", path: "/keys?tenant_id=ten_abc&environment=staging", field: "environment" } },
    ];
    for (const { cli, option, value, api } of cases) {
      const run = await keygate(cli, { input: `${PASSWORD}\n`, ...asRoot() });
      expect(run.code, cli.join(" ")).toBe(2);
      const allowed = /Allowed choices are (.+)\.$/.exec(oneLine(run))?.[1];
      expect(oneLine(run)).toContain(`option '${option}' argument '${value}' is invalid.`);

      const res = await fetch(`${kg.url}/_keygate/v1${api.path}`, {
        method: api.method,
        headers: { authorization: `Bearer ${kg.adminToken}`, "content-type": "application/json" },
        body: api.body === undefined ? undefined : JSON.stringify(api.body),
      });
      expect(res.status, api.path).toBe(400);
      const refusal = (await res.json()) as { error: { code: string; details: { fields: Array<{ field: string; message: string }> } } };
      expect(refusal.error.code).toBe("invalid_request");
      expect(refusal.error.details.fields).toEqual([{ field: api.field, message: `must be one of ${allowed}` }]);
    }
    expect(await admins()).toBe(before);
  });
});

describe("commands that destroy", () => {
  it("need --yes without a terminal: exit 2, and nothing changes", async () => {
    const tenant = await kg.admin.createTenant("Initech");
    const key = await kg.admin.createKey({ tenant_id: tenant.id, name: "reports" });
    const other = await kg.admin.createKey({ tenant_id: tenant.id });
    const admin = await kg.admin.createAdmin({ email: "temp@example.com", password: PASSWORD, role: "viewer" });
    const cases: Array<[string[], string]> = [
      [["keys", "revoke", key.id], `revoking ${key.id}`],
      [["keys", "delete", other.id], `deleting ${other.id}`],
      [["admins", "remove", admin.id], `removing ${admin.id}`],
      [["tenants", "suspend", tenant.id], `suspending ${tenant.id}`],
    ];
    for (const [args, doing] of cases) {
      const run = await keygate(args, asRoot());
      expect(run.code, args.join(" ")).toBe(2);
      expect(oneLine(run)).toBe(`keygate: ${doing} needs --yes when standard input is not a terminal; nothing was changed.`);
      expect(run.stdout).toBe("");
    }
    expect(await statusWith(key.key)).toBe(200);
    expect(await statusWith(other.key)).toBe(200);
    expect((await keygate(["admins", "list"], asRoot())).stdout).toContain("temp@example.com");
    expect((await keygate(["tenants", "get", tenant.id], asRoot())).stdout).toMatch(/Initech\s+active/);

    // With --yes, each goes ahead.
    for (const [args] of cases) expect((await keygate([...args, "--yes"], asRoot())).code, args.join(" ")).toBe(0);
    expect(await statusWith(key.key)).toBe(401);
    expect(await statusWith(other.key)).toBe(401);
    expect((await keygate(["admins", "list"], asRoot())).stdout).not.toContain("temp@example.com");
    expect((await keygate(["tenants", "get", tenant.id], asRoot())).stdout).toMatch(/Initech\s+suspended/);
  });

  it("ask at a terminal, showing what is destroyed, and go ahead only on yes", async () => {
    const tenant = await kg.admin.createTenant("Umbrella");
    const key = await kg.admin.createKey({ tenant_id: tenant.id, name: "lab" });
    const env = { KEYGATE_TOKEN: kg.adminToken };

    const declined = await keygateAtTerminal(["keys", "revoke", key.id], "n", env);
    expect(declined.output).toMatch(new RegExp(`Revoke ${key.id} "lab" \\(kg_live_\\w{4}…\\w{4}, tenant ${tenant.id}\\)\\? \\[y/N\\]`));
    expect(declined.output).toContain("keygate: not confirmed; nothing was changed.");
    expect(declined.code).toBe(1);
    expect(await statusWith(key.key)).toBe(200);

    const suspend = await keygateAtTerminal(["tenants", "suspend", tenant.id], "n", env);
    expect(suspend.output).toContain(`Suspend "Umbrella" (${tenant.id})? Every one of its keys is refused`);
    expect(suspend.code).toBe(1);
    expect(await statusWith(key.key)).toBe(200);

    const confirmed = await keygateAtTerminal(["keys", "revoke", key.id], "y", env);
    expect(confirmed.code, confirmed.output).toBe(0);
    expect(confirmed.output).toContain(`Revoked ${key.id}.`);
    expect(await statusWith(key.key)).toBe(401);
  });
});

describe("output for scripts and people", () => {
  it("--quiet gives the id and the key, so a script can rotate and revoke what it created", async () => {
    const tenant = await kg.admin.createTenant("Hooli");
    const created = await keygate(["keys", "create", "--tenant", tenant.id, "--quiet"], asRoot());
    expect(created.code, created.stderr).toBe(0);
    const [id, key] = created.stdout.trimEnd().split("\t") as [string, string];
    expect(created.stdout).toBe(`${id}\t${key}\n`);
    expect(await statusWith(key)).toBe(200);

    // What `read -r ID KEY < <(keygate keys rotate … --quiet)` reads, in a real shell.
    const rotated = spawnSync("bash", ["-c", 'read -r NEW_ID NEW_KEY < <("$0" "$1" keys rotate "$2" --quiet) && printf "%s\\n%s\\n" "$NEW_ID" "$NEW_KEY"', NODE, BUNDLE, id], {
      env: { ...process.env, XDG_CONFIG_HOME: configHome, KEYGATE_URL: kg.url, KEYGATE_TOKEN: kg.adminToken },
      encoding: "utf8",
    });
    expect(rotated.status, rotated.stderr).toBe(0);
    const [newId, newKey] = rotated.stdout.trimEnd().split("\n") as [string, string];
    expect(newId).toMatch(/^key_\w+$/);
    expect(newId).not.toBe(id);
    expect(await statusWith(newKey)).toBe(200);
    expect(await statusWith(key)).toBe(401);
    expect((await keygate(["keys", "revoke", newId, "--yes"], asRoot())).code).toBe(0);
    expect(await statusWith(newKey)).toBe(401);
  });

  it("registers an OAuth client, its secret printed once and for a script with --quiet, then deletes it", async () => {
    const tenant = await kg.admin.createTenant("App maker");
    const args = ["--tenant", tenant.id, "--name", "Nightly sync", "--type", "confidential", "--redirect-uri", "https://sync.example.com/cb", "--scope", "read"];
    const created = await keygate(["oauth-clients", "create", ...args, "--quiet"], asRoot());
    expect(created.code, created.stderr).toBe(0);
    const [clientId, secret] = created.stdout.trimEnd().split("\t") as [string, string];
    expect(clientId).toMatch(/^cli_\w+$/);
    expect(secret).toMatch(/^kg_cs_\w+$/);
    const listed = await keygate(["oauth-clients", "list", "--tenant", tenant.id], asRoot());
    expect(listed.stdout).toMatch(new RegExp(`${clientId}\\s+Nightly sync\\s+confidential\\s+${tenant.id}\\s+read`));
    expect(listed.stdout).not.toContain(secret);
    // The secret works: the app gets a token for its own tenant.
    const token = await fetch(`${kg.url}/_keygate/oauth/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", authorization: `Basic ${btoa(`${clientId}:${secret}`)}` },
      body: "grant_type=client_credentials",
    });
    expect(token.status).toBe(200);
    const updated = await keygate(["oauth-clients", "update", clientId, "--scope", "read", "--scope", "reports", "--json"], asRoot());
    expect(JSON.parse(updated.stdout)).toMatchObject({ scopes: ["read", "reports"], fanout: { pending: false } });
    expect((await keygate(["oauth-clients", "delete", clientId, "--yes"], asRoot())).code).toBe(0);
    expect((await keygate(["oauth-clients", "get", clientId], asRoot())).code).toBe(1);
  });

  it("usage shows totals and only the hours with traffic, never raw JSON", async () => {
    const tenant = await kg.admin.createTenant("Soylent");
    const key = await kg.admin.createKey({ tenant_id: tenant.id, rate_limit: { limit: 2, window_seconds: 3600 } });
    expect([await statusWith(key.key), await statusWith(key.key), await statusWith(key.key)]).toEqual([200, 200, 429]);
    // A verification that asks for a scope the key lacks: refused, and counted by code.
    const verify = await fetch(`${kg.url}/_keygate/v1/keys/verify`, {
      method: "POST",
      headers: { authorization: `Bearer ${kg.adminToken}`, "content-type": "application/json" },
      body: JSON.stringify({ key: key.key, scopes: ["billing"] }),
    });
    expect(await verify.json()).toMatchObject({ valid: false, code: "insufficient_permissions" });

    const run = await keygate(["usage", key.id, "--since", "7d"], asRoot());
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).not.toMatch(/[{}[\]]/);
    expect(run.stdout).toMatch(new RegExp(`^key\\s+${key.id}\\nall time\\s+2 admitted, 1 rate limited\\nlast used\\s+\\d{4}-\\d\\d-\\d\\dT[\\d:]+Z`));
    expect(run.stdout).toMatch(/\nperiod\s+\S+Z to \S+Z, by hour\nadmitted\s+2\nrate limited\s+1\nrefused\s+1: insufficient_permissions 1\n/);

    // The table: a row for each hour that had a request, and none for the rest of the week.
    const usage = JSON.parse((await keygate(["usage", key.id, "--since", "7d", "--json"], asRoot())).stdout);
    type Point = { start: string; admitted: number; rate_limited: number; refused: Record<string, number> };
    const busy = (usage.series as Point[]).filter((p) => p.admitted + p.rate_limited + Object.values(p.refused).reduce((a, b) => a + b, 0) > 0);
    expect(usage.series.length).toBeGreaterThan(7 * 24);
    const rows = run.stdout.split("\n\n")[1]!.trimEnd().split("\n");
    expect(rows[0]).toMatch(/^HOUR\s+ADMITTED\s+RATE LIMITED\s+REFUSED$/);
    expect(rows.slice(1).map((row) => row.split(/\s+/)[0])).toEqual(busy.map((p) => p.start.replace(/\.\d+Z$/, "Z")));

    // A quiet key: its totals, and no table at all.
    const quiet = await kg.admin.createKey({ tenant_id: tenant.id });
    const none = await keygate(["usage", quiet.id], asRoot());
    expect(none.code, none.stderr).toBe(0);
    expect(none.stdout).toMatch(/\nlast used\s+never\n/);
    expect(none.stdout).toMatch(/\nrefused\s+0\n$/);
    expect(none.stderr).toBe("No requests in this period.\n");
  });

  it("runs as `npx keygate` anywhere in the checkout, with nothing fetched", async () => {
    const cache = await mkdtemp(join(tmpdir(), "keygate-npx-"));
    try {
      for (const cwd of [ROOT, join(ROOT, "cli", "commands")]) {
        // An empty npm cache and no network: npx can only be running this checkout's own `bin`.
        const run = spawnSync("npx", ["keygate", "tenants", "list", "--json"], {
          cwd,
          encoding: "utf8",
          env: { ...process.env, npm_config_cache: cache, npm_config_offline: "true", KEYGATE_URL: kg.url, KEYGATE_TOKEN: kg.adminToken, XDG_CONFIG_HOME: configHome },
        });
        expect(run.status, run.stderr).toBe(0);
        expect(JSON.parse(run.stdout)).toMatchObject({ object: "list" });
      }
    } finally {
      await rm(cache, { recursive: true, force: true });
    }
  });
});

describe("keygate login with a second factor", () => {
  it("asks for the code (--otp, or the next line of standard input), refuses a wrong one, and shows as the CLI in the sessions", async () => {
    const email = "second-factor@example.com";
    await kg.admin.createAdmin({ email, password: PASSWORD, role: "admin" });
    const signin = await fetch(`${kg.url}/_keygate/v1/signins`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ grant_type: "password", email, password: PASSWORD }) });
    const auth = { authorization: `Bearer ${((await signin.json()) as { access_token: string }).access_token}`, "content-type": "application/json" };
    const { secret } = (await (await fetch(`${kg.url}/_keygate/v1/account/totp`, { method: "POST", headers: auth })).json()) as { secret: string };
    const totp = new TOTP({ secret });
    const confirm = await fetch(`${kg.url}/_keygate/v1/account/totp/confirm`, { method: "POST", headers: auth, body: JSON.stringify({ code: totp.generate() }) });
    const { recovery_codes } = (await confirm.json()) as { recovery_codes: string[] };

    const wrong = await keygate(["login", "--email", email, "--otp", "000000"], { input: `${PASSWORD}\n` });
    expect(wrong.code).toBe(1);
    expect(oneLine(wrong)).toMatch(/The code or passkey is not correct\. \(invalid_credentials, req_\w+\)/);
    const none = await keygate(["login", "--email", email], { input: `${PASSWORD}\n` });
    expect(none.code).toBe(2);
    expect(oneLine(none)).toMatch(/no code \(--otp\) given on standard input/);

    // A recovery code on the next line of standard input.
    const piped = await keygate(["login", "--email", email], { input: `${PASSWORD}\n${recovery_codes[0]}\n` });
    expect(piped.code, piped.stderr).toBe(0);
    expect(piped.stderr).toContain(`Signed in to ${kg.url} as ${email} (admin)`);

    // The sessions list names the CLI.
    const sessions = (await (await fetch(`${kg.url}/_keygate/v1/account/sessions`, { headers: auth })).json()) as { data: { device: string }[] };
    expect(sessions.data.map((s) => s.device)).toContain("keygate CLI");
  });
});
