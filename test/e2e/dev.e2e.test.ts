import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  curl,
  DEV_BANNER,
  devArgs,
  freePort,
  localState,
  portReleased,
  readDevBanner,
  registryEnv,
  runNpm,
  type DevBanner,
  type LocalState,
  type NpmRun,
} from "./support.mjs";
import { launchBrowser } from "./browser.mjs";

// `npm run dev` as a user types it, in a real child process: what it prints, what it refuses and
// what it leaves behind. One keygate (started once, below) serves every case that needs one running;
// the refusals start nothing, so they take about a second each.

let state: LocalState;
let ports: { port: number; originPort: number };
let first: NpmRun;
let banner: DevBanner;
const others: LocalState[] = [];

const dev = (args: string[], on = state) => runNpm("dev", args, { env: registryEnv(on.registryPath) });
/** A list from the admin API, with the root token `npm run dev` wrote. */
const adminGet = async (path: string) => {
  const token = /^ADMIN_TOKEN=(.*)$/m.exec(readFileSync(state.devVarsPath, "utf8"))![1];
  const res = await fetch(`${banner.url}/_keygate/v1${path}`, { headers: { authorization: `Bearer ${token}` } });
  expect(res.status, path).toBe(200);
  return (await res.json()) as { data: Record<string, unknown>[] };
};
const lockFile = () => join(state.persistTo, "keygate-dev.lock");

beforeAll(async () => {
  state = await localState();
  ports = { port: await freePort(), originPort: await freePort() };
  first = dev(devArgs(state, ports));
  banner = readDevBanner((await first.waitFor(DEV_BANNER))[0]);
}, 180_000);

afterAll(async () => {
  await first?.interrupt();
  await state?.remove();
  for (const other of others) await other.remove();
});

describe("npm run dev, once it says it is running", () => {
  it("runs on the port it was given (--port), and the banner's calls work as printed", async () => {
    expect(banner.url).toBe(`http://127.0.0.1:${ports.port}`);
    expect(banner.text).toContain(`demo origin: http://127.0.0.1:${ports.originPort}`);
    const res = await curl(`${banner.url}/hello`, ["-H", `x-api-key: ${banner.key}`]);
    expect(res.status, res.text()).toBe(200);
    expect(res.json().path).toBe("/hello"); // the demo origin's echo
    // The OAuth demo: its app sends the browser through keygate to the example consent page.
    expect(banner.oauthDemoUrl).toBe(`http://127.0.0.1:${ports.originPort}/oauth/demo`);
    const start = await fetch(banner.oauthDemoUrl, { redirect: "manual" });
    const authorize = new URL(start.headers.get("location")!);
    expect(`${authorize.origin}${authorize.pathname}`).toBe(`${banner.url}/_keygate/oauth/authorize`);
    const toConsent = await fetch(authorize, { redirect: "manual" });
    const consent = await fetch(toConsent.headers.get("location")!);
    expect(new URL(consent.url).pathname).toBe("/oauth/consent");
    expect(await consent.text()).toContain("<strong>Demo app</strong> would like to act for you");
  });

  it("prints the console's address and a sign-in: a browser opens it and signs in with what was printed", async () => {
    expect(banner.consoleUrl).toBe(`${banner.url}/_keygate/`);
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      await page.goto(banner.consoleUrl);
      await page.getByLabel("Email").fill(banner.email);
      await page.getByLabel("Password").fill(banner.passwordLine.split(/\s/)[0]!);
      await page.getByRole("button", { name: "Sign in" }).click();
      // Signed in, the console opens on its overview; the demo tenant is one click away.
      await expect.poll(() => page.getByRole("heading", { name: "Overview" }).count()).toBe(1);
      await page.getByRole("link", { name: "Tenants" }).click();
      await expect.poll(() => page.getByText("Demo tenant", { exact: true }).count()).toBe(1);
    } finally {
      await browser.close();
    }
  });
});

describe("npm run dev refuses what cannot work, before it creates anything", () => {
  it("a second npm run dev on the same port: keygate is already running, exit 2, no banner, nothing added", async () => {
    const devVarsBefore = readFileSync(state.devVarsPath, "utf8");
    const second = dev(devArgs(state, ports));
    expect(await second.exited).toBe(2);
    expect(second.output()).toContain(`keygate is already running on :${ports.port}`);
    expect(second.output()).not.toContain("keygate is running on");
    expect((await adminGet("/tenants")).data).toHaveLength(1);
    expect((await adminGet("/keys")).data).toHaveLength(1);
    expect(readFileSync(state.devVarsPath, "utf8")).toBe(devVarsBefore);
  });

  it("a second npm run dev on the same state on other ports: one state serves one keygate, exit 2", async () => {
    const second = dev(devArgs(state, { port: await freePort(), originPort: await freePort() }));
    expect(await second.exited).toBe(2);
    expect(second.output()).toContain(`keygate is already running on this local state (${state.persistTo}): on ${banner.url}`);
    expect((await adminGet("/tenants")).data).toHaveLength(1);
  });

  it("a port another program holds (keygate's, or the demo origin's): says which, exit 2, writes nothing", async () => {
    const fresh = await localState();
    others.push(fresh);
    const held: Server = createServer();
    const heldPort = await freePort();
    await new Promise<void>((resolve) => held.listen(heldPort, "127.0.0.1", resolve));
    try {
      for (const [taken, other] of [["port", "originPort"], ["originPort", "port"]] as const) {
        const run = dev(devArgs(fresh, { [taken]: heldPort, [other]: await freePort() } as typeof ports), fresh);
        expect(await run.exited).toBe(2);
        const what = taken === "port" ? "keygate" : "the demo origin";
        const option = taken === "port" ? "--port" : "--origin-port";
        expect(run.output()).toContain(`port ${heldPort}, for ${what}, is in use by another program: stop that program, or choose another port with ${option} <port>.`);
      }
    } finally {
      held.close();
    }
    expect([existsSync(fresh.devVarsPath), existsSync(fresh.persistTo)]).toEqual([false, false]);
  });

  it("an option it does not know, or a port that is not one: the usage, exit 2", async () => {
    for (const [args, says] of [[["--prot", "9000"], "Unknown option '--prot'"], [["--port", "90000"], "--port 90000 is not a port (1-65535)."]]) {
      const run = dev(args as string[]);
      expect(await run.exited).toBe(2);
      expect(run.output()).toContain(says);
      expect(run.output()).toContain("usage: npm run dev [-- --port <port>]");
    }
  });
});

describe("npm run dev and its dev vars file", () => {
  it("says 'restart to apply' the moment the file changes, naming what changed; the running keygate keeps what it started with", async () => {
    const original = readFileSync(state.devVarsPath, "utf8");
    writeFileSync(state.devVarsPath, `${original}PUBLIC_PATHS=/hello\n`);
    await first.waitFor(/dev\.vars changed \(PUBLIC_PATHS\): restart to apply/);
    // Not applied, as it said: /hello still needs a key.
    expect((await curl(`${banner.url}/hello`)).status).toBe(401);
    writeFileSync(state.devVarsPath, original);
    await first.waitFor(/dev\.vars matches the running keygate again/);
  });
});

describe("npm run dev, started three times on one state", () => {
  it("one demo tenant, one demo key, one console owner; the password is printed when the account is made, and where to find it after", async () => {
    const password = banner.passwordLine.split(/\s/)[0];
    expect(banner.passwordLine).toContain("new account");
    await first.interrupt(); // Ctrl-C: npm re-raises it once npm run dev has stopped everything
    expect(first.output()).toContain("keygate: stopping…");
    expect(existsSync(lockFile())).toBe(false);

    // Second start: the same tenant and key, the password not on screen.
    const second = dev(devArgs(state, ports));
    const again = readDevBanner((await second.waitFor(DEV_BANNER))[0]);
    expect([again.tenantId, again.key, again.keyId, again.email]).toEqual([banner.tenantId, banner.key, banner.keyId, banner.email]);
    expect(again.text).toContain("the same demo key as last time");
    expect(again.passwordLine).toMatch(/^CONSOLE_OWNER_PASSWORD in \S+dev\.vars/);
    expect(second.output()).not.toContain(password);

    // Killed with -9, it leaves its lock behind: the next start takes over the stale lock.
    await second.kill();
    expect(existsSync(lockFile())).toBe(true);
    await portReleased(ports.port); // wrangler, under its lifeline, stops when npm run dev is gone
    first = dev(devArgs(state, ports));
    banner = readDevBanner((await first.waitFor(DEV_BANNER))[0]);
    expect([banner.tenantId, banner.key]).toEqual([again.tenantId, again.key]);

    expect((await adminGet("/tenants")).data.map((t) => t.name)).toEqual(["Demo tenant"]);
    expect((await adminGet("/keys")).data.map((k) => k.id)).toEqual([banner.keyId]);
    // Besides the owner, the OAuth demo's consent page signs in as an authorizer; it and the demo app are made once too.
    expect((await adminGet("/admins")).data.map((a) => [a.email, a.role]).sort()).toEqual([["consent@keygate.localhost", "authorizer"], [banner.email, "owner"]]);
    expect((await adminGet("/oauth-clients")).data.map((c) => c.name)).toEqual(["Demo app"]);
    expect((await curl(`${banner.url}/hello`, ["-H", `x-api-key: ${banner.key}`])).status).toBe(200);
    const signin = await fetch(`${banner.url}/_keygate/v1/signins`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ grant_type: "password", email: banner.email, password }),
    });
    expect(signin.status).toBe(200);
  }, 240_000);
});
