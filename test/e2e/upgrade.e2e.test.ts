import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  curl,
  localState,
  queryLocalD1,
  releaseZeroState,
  startDevOn,
  type CurlResult,
  type KeyView,
  type LocalState,
  type Running,
} from "./support.mjs";

// `npm run dev`'s start-up (startDev, the function scripts/dev.mjs runs) on a local state that
// release 0.1.0 made (its schema run as a plain file, no migration recorded, its rows), then again
// on the same state: the state is upgraded in place, the second start applies nothing, and every
// row and every key's window from the first start is still there. (How each Durable Object
// upgrades storage 0.1.0 wrote is proven in test/upgrades/release-upgrade.test.ts.)

let state: LocalState;
const running = new Set<{ stop(): Promise<void> }>();

beforeAll(async () => {
  state = await localState();
});

afterAll(async () => {
  for (const instance of running) await instance.stop().catch(() => {});
  await state?.remove();
});

async function started<T extends { stop(): Promise<void> }>(instance: Promise<T>): Promise<T> {
  const ready = await instance;
  running.add(ready);
  return ready;
}

/** Stops an instance right after its last request: nothing waits for keygate's own writes. */
async function stop(instance: { stop(): Promise<void> }) {
  running.delete(instance);
  await instance.stop();
}

const use = (url: string, key: KeyView) => curl(`${url}/upgrade`, ["-H", `x-api-key: ${key.key}`]);
const remaining = (res: CurlResult) => Number(res.headers.get("x-ratelimit-remaining"));
const schemaOf = () => queryLocalD1(state, "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE '_cf_%' ORDER BY name");

async function signIn(url: string, email: string, password: string): Promise<number> {
  const res = await fetch(`${url}/_keygate/v1/signins`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ grant_type: "password", email, password }),
  });
  await res.arrayBuffer();
  return res.status;
}

describe("npm run dev upgrades an older local state in place", () => {
  it("a 0.1.0 state, then two starts on it: nothing is lost, nothing is applied twice", async () => {
    const owner = { email: "owner-before-upgrade@example.com", password: "a password from before the upgrade" };
    const old = await releaseZeroState(state, {
      tenants: ["Before the upgrade"],
      keys: [{ tenant: 0, limit: 10, windowSeconds: 3600 }, { tenant: 0, revoked: true }],
      admins: [{ ...owner, role: "owner" }],
    });
    expect(await queryLocalD1(state, "SELECT name FROM sqlite_master WHERE name = 'd1_migrations'")).toEqual([]);
    const [key, revoked] = old.keys as [KeyView, KeyView];

    // First start of this release: migration 0001 is recorded (its statements find everything
    // already there), every later one applied, and the keys and admins of before all answer.
    const first = await started(startDevOn(state));
    expect(first.log).toContain("migrations applied");
    const firstUse = await use(first.url, key);
    expect([firstUse.status, remaining(firstUse)]).toEqual([200, 9]);
    expect(remaining(await use(first.url, key))).toBe(8);
    expect((await use(first.url, revoked)).status).toBe(401);
    expect((await use(first.url, first.key)).status).toBe(200);
    expect(await signIn(first.url, owner.email, owner.password)).toBe(200);
    // Stopped right after its last request: nothing waits for keygate's own writes.
    await stop(first);

    const applied = await queryLocalD1<{ name: string }>(state, "SELECT name FROM d1_migrations ORDER BY id");
    expect(applied[0]?.name).toBe("0001_initial.sql");
    const schemaAfterFirst = await schemaOf();

    // Second start on the same state: nothing to apply, nothing changed, everything still there.
    const second = await started(startDevOn(state));
    expect(second.log).toContain("the local D1 is up to date");
    expect(second.vars).toEqual(first.vars); // a start never rewrites the secrets
    const afterSecond = await use(second.url, key);
    expect([afterSecond.status, remaining(afterSecond)]).toEqual([200, 7]);
    expect(afterSecond.headers.get("x-ratelimit-reset")).toBe(firstUse.headers.get("x-ratelimit-reset"));
    expect((await use(second.url, revoked)).status).toBe(401);
    expect((await use(second.url, first.key)).status).toBe(200);
    expect(await signIn(second.url, owner.email, owner.password)).toBe(200);
    await stop(second);

    expect(await queryLocalD1(state, "SELECT name FROM d1_migrations ORDER BY id")).toEqual(applied);
    expect(await schemaOf()).toEqual(schemaAfterFirst);
    const tenants = await queryLocalD1<{ name: string }>(state, "SELECT name FROM tenants ORDER BY created_at");
    expect(tenants.map((t) => t.name)).toEqual(["Before the upgrade", "Demo tenant"]); // the second start reuses the first one's
  }, 300_000); // two wrangler dev start-ups and seven wrangler d1 commands
});
