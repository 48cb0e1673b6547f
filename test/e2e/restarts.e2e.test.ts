import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  curl,
  DEV_BANNER,
  devAdmin,
  devArgs,
  freePort,
  localState,
  portReleased,
  readDevBanner,
  registryEnv,
  runNpm,
  type AdminClient,
  type DevBanner,
  type KeyView,
  type LocalState,
  type NpmRun,
} from "./support.mjs";

// A key limited to 5 per 10 minutes, used five times, then keygate stopped the three ways it gets
// stopped (Ctrl-C of `npm run dev`, SIGTERM of its `wrangler dev`, kill -9 of the whole process
// group) at 0 ms, 100 ms and 1.5 s after the key's last reply, and started again on the same
// state. Nothing waits for keygate's own writes: a stop comes when the test says. After every
// restart the key's next request is 429; after the graceful stops its usage counts all five.
// One key per delay, the three used one after another so one stop covers all three delays.

const DELAYS_MS = [1_500, 100, 0] as const;

let state: LocalState;
let ports: { port: number; originPort: number };
let dev: NpmRun | null = null;
let banner: DevBanner;
let admin: AdminClient;

async function start(): Promise<void> {
  dev = runNpm("dev", devArgs(state, ports), { env: registryEnv(state.registryPath) });
  banner = readDevBanner((await dev.waitFor(DEV_BANNER))[0]);
  admin = devAdmin(state, banner.url);
}

const send = (key: KeyView) => curl(`${banner.url}/restart`, ["-H", `x-api-key: ${key.key}`]);

/** Five admissions for each of three fresh keys, the last reply of each DELAYS_MS before the return. */
async function useFiveTimes(): Promise<Map<number, KeyView>> {
  const keys = new Map<number, KeyView>();
  for (const delay of DELAYS_MS) keys.set(delay, await admin.createKey({ tenant_id: banner.tenantId, rate_limit: { limit: 5, window_seconds: 600 } }));
  let lastReply = 0;
  for (const [i, delay] of DELAYS_MS.entries()) {
    // The next key's five requests start once the previous key's last reply is old enough.
    const previous = DELAYS_MS[i - 1];
    if (previous !== undefined) await until(lastReply + previous - delay);
    for (let n = 0; n < 5; n++) expect((await send(keys.get(delay)!)).status).toBe(200);
    lastReply = Date.now();
  }
  return keys;
}

/** The test's own pacing (when it stops keygate), not a wait for anything keygate does. */
const until = (at: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, at - Date.now())));

/** The pid and process group of the `wrangler dev` that serves this state (not its lifeline, not workerd). */
function wranglerProcess(): { pid: number; group: number } {
  const lines = execFileSync("ps", ["-eo", "pid=,pgid=,args="], { encoding: "utf8" }).split("\n");
  const line = lines.find((l) => l.includes(state.persistTo) && /wrangler.*\bdev\b/.test(l) && !l.includes("lifeline.mjs"));
  if (!line) throw new Error(`no wrangler dev on ${state.persistTo}`);
  const [pid, group] = line.trim().split(/\s+/).map(Number);
  return { pid: pid!, group: group! };
}

async function expectRefusedAfterRestart(keys: Map<number, KeyView>, usageCountsAll: boolean): Promise<void> {
  await start();
  for (const [delay, key] of keys) {
    const res = await send(key);
    expect(res.status, `stopped ${delay} ms after the last reply`).toBe(429);
    if (!usageCountsAll) continue;
    const usage = await curl(`${banner.url}/_keygate/v1/keys/${key.id}/usage`, ["-H", `authorization: Bearer ${adminToken()}`]);
    expect(usage.json().requests, `usage, stopped ${delay} ms after the last reply`).toBe(5);
  }
}

const adminToken = () => /^ADMIN_TOKEN=(.*)$/m.exec(readFileSync(state.devVarsPath, "utf8"))![1];

beforeAll(async () => {
  state = await localState();
  ports = { port: await freePort(), originPort: await freePort() };
  await start();
}, 180_000);

afterAll(async () => {
  await dev?.interrupt();
  await state?.remove();
});

describe("a stop never makes keygate admit what a key's window already holds", () => {
  it("Ctrl-C of npm run dev: the next request is 429 and the usage counts all five", async () => {
    const keys = await useFiveTimes();
    await dev!.interrupt();
    await portReleased(ports.port);
    await expectRefusedAfterRestart(keys, true);
  }, 180_000);

  it("SIGTERM of wrangler dev: the next request is 429 and the usage counts all five", async () => {
    const keys = await useFiveTimes();
    process.kill(wranglerProcess().pid, "SIGTERM");
    await dev!.exited;
    await portReleased(ports.port);
    await expectRefusedAfterRestart(keys, true);
  }, 180_000);

  it("kill -9 of wrangler dev's process group (wrangler and workerd): the next request is 429", async () => {
    const keys = await useFiveTimes();
    process.kill(-wranglerProcess().group, "SIGKILL");
    await dev!.exited;
    await portReleased(ports.port);
    await expectRefusedAfterRestart(keys, false);
  }, 180_000);
});
