import { describe, expect, it } from "vitest";
import { ADMIN_TOKEN, createKey, errorOf, uniqueIp } from "../support/client";
import { adminUser, PASSWORD } from "../admin/support";
import { callWorker, unknownKey } from "../gateway/helpers";

/**
 * Every check of a credential (a gateway key, an admin token, a self-service key, a refresh, a
 * console session cookie) shares one failed-attempt budget per client: each failure is counted
 * exactly once, wherever it happened, and a blocked client is refused at every one of them before
 * anything is checked, even with a credential that is right.
 */

const LIMIT = 4;
const SETTINGS = { FAILED_AUTH_LIMIT: String(LIMIT) };
const CSRF = { "x-keygate-csrf": "1" };

type Place = (ip: string) => Promise<Response>;

const admin = (path: string, ip: string, headers: Record<string, string>, init: RequestInit = {}) =>
  callWorker(`/_keygate/v1${path}`, { ...init, headers: { "cf-connecting-ip": ip, ...headers, ...(init.headers as Record<string, string> | undefined) } }, SETTINGS);
const json = (body: unknown): RequestInit => ({ method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

/** One wrong credential at each place a credential is checked. */
const WRONG: Record<string, Place> = {
  "a gateway key": (ip) => callWorker("/probe", { headers: { "x-api-key": unknownKey(), "cf-connecting-ip": ip } }, SETTINGS),
  "an admin bearer token": (ip) => admin("/tenants", ip, { authorization: "Bearer not-the-root-token" }),
  "a self-service key": (ip) => admin("/keys", ip, { "x-api-key": unknownKey() }),
  "a refresh grant": (ip) => admin("/signins", ip, { authorization: "Bearer not.a.jwt" }, json({ grant_type: "refresh" })),
  "a session cookie": (ip) => admin("/sessions/refresh", ip, { ...CSRF, cookie: "keygate_session=made-up" }, { method: "POST" }),
};

async function codeOf(res: Response): Promise<string> {
  if (res.status < 400) return void (await res.body?.cancel()), String(res.status);
  return (await errorOf(res)).error.code;
}

describe("one failed-attempt budget per client, whichever credential it guesses", () => {
  it(`counts each failure once wherever it happens, and blocks at the ${LIMIT + 1}th`, async () => {
    const places = Object.entries(WRONG);
    for (const [first, second] of places.flatMap((a) => places.map((b) => [a, b] as const)).filter(([a, b]) => a[0] < b[0])) {
      const ip = uniqueIp();
      // LIMIT failures split over two places: all answered as failures, none as a block.
      for (let i = 0; i < LIMIT; i++) {
        const [name, place] = i % 2 === 0 ? first : second;
        expect(await codeOf(await place(ip)), `${name}, failure ${i + 1}`).not.toBe("too_many_failed_attempts");
      }
      for (const [name, place] of places) expect(await codeOf(await place(ip)), `${name} after ${first[0]} and ${second[0]}`).toBe("too_many_failed_attempts");
    }
  });

  it("refuses a blocked client at every place before checking, even with the right credential", async () => {
    const owner = await adminUser("owner");
    const manager = await createKey({ scopes: ["keys:manage", "read"] });
    const ip = uniqueIp();
    const session = await admin("/sessions", uniqueIp(), CSRF, json({ email: owner.email, password: PASSWORD }));
    const cookie = session.headers.get("set-cookie")!.split(";")[0]!;
    await session.body?.cancel();
    const RIGHT: Record<string, Place> = {
      "a gateway key": (ip) => callWorker("/probe", { headers: { "x-api-key": manager.key, "cf-connecting-ip": ip } }, SETTINGS),
      "the root token": (ip) => admin("/tenants", ip, { authorization: `Bearer ${ADMIN_TOKEN}` }),
      "an admin's token": (ip) => admin("/tenants", ip, { authorization: `Bearer ${owner.token}` }),
      "a self-service key": (ip) => admin("/keys", ip, { "x-api-key": manager.key }),
      "a refresh grant": (ip) => admin("/signins", ip, { authorization: `Bearer ${owner.token}` }, json({ grant_type: "refresh" })),
      "a session cookie": (ip) => admin("/sessions/refresh", ip, { ...CSRF, cookie }, { method: "POST" }),
    };
    // Right from another address: each of them works.
    for (const [name, place] of Object.entries(RIGHT)) expect(await codeOf(await place(uniqueIp())), name).toBe("200");
    for (let i = 0; i <= LIMIT; i++) await codeOf(await WRONG["an admin bearer token"]!(ip));
    for (const [name, place] of Object.entries(RIGHT)) {
      const res = await place(ip);
      expect(res.headers.get("retry-after"), name).toMatch(/^\d+$/);
      expect(await codeOf(res), name).toBe("too_many_failed_attempts");
    }
  });

  it("does not count what is no guess: no credential, no console session, a session or sign-in that ended", async () => {
    const owner = await adminUser("owner");
    const signedIn = await admin("/sessions", uniqueIp(), CSRF, json({ email: owner.email, password: PASSWORD }));
    const cookie = signedIn.headers.get("set-cookie")!.split(";")[0]!;
    const { access_token: token } = (await signedIn.json()) as { access_token: string };
    expect((await admin("/sessions/current", uniqueIp(), { ...CSRF, cookie }, { method: "DELETE" })).status).toBe(204);
    const ip = uniqueIp();
    for (let i = 0; i < 3 * LIMIT; i++) {
      expect(await codeOf(await admin("/tenants", ip, {}))).toBe("missing_credentials");
      expect(await codeOf(await admin("/sessions/refresh", ip, CSRF, { method: "POST" }))).toBe("invalid_token");
      expect(await codeOf(await admin("/sessions/refresh", ip, { ...CSRF, cookie }, { method: "POST" }))).toBe("invalid_token");
      expect(await codeOf(await admin("/tenants", ip, { authorization: `Bearer ${token}` }))).toBe("invalid_token");
    }
    expect(await codeOf(await admin("/tenants", ip, { authorization: `Bearer ${ADMIN_TOKEN}` }))).toBe("200");
  });
});
