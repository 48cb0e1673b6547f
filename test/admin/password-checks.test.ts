import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { admin, errorOf, uniqueIp } from "../support/client";
import { callWorker } from "../gateway/helpers";
import { PASSWORD, uniqueEmail } from "./support";

/**
 * Every place an admin's password is checked (the password grant of POST /signins, the console's
 * POST /sessions, POST /account/password) shares one throttle and one audit trail: a guess at any
 * of them counts against the email and the client address at all of them, and every wrong
 * password is recorded as a failed sign-in. So a leaked access token is no password oracle.
 */

const LIMITS = { SIGNIN_LIMIT_PER_EMAIL: "4", SIGNIN_LIMIT_PER_IP: "5" };
const CSRF = { "x-keygate-csrf": "1" };

async function newAdmin(): Promise<{ id: string; email: string }> {
  const email = uniqueEmail("pw");
  const res = await admin("POST", "/admins", { email, password: PASSWORD, role: "viewer" });
  expect(res.status).toBe(201);
  return { id: ((await res.json()) as { id: string }).id, email };
}

function post(path: string, body: unknown, ip: string, headers: Record<string, string> = {}, settings: Record<string, string> = LIMITS): Promise<Response> {
  return callWorker(
    `/_keygate/v1${path}`,
    { method: "POST", headers: { "content-type": "application/json", "cf-connecting-ip": ip, ...headers }, body: JSON.stringify(body) },
    settings,
  );
}

/** An access token of a fresh sign-in (which starts a fresh per-email count). */
async function tokenOf(email: string): Promise<string> {
  const res = await post("/signins", { grant_type: "password", email, password: PASSWORD }, uniqueIp());
  expect(res.status).toBe(200);
  return ((await res.json()) as { access_token: string }).access_token;
}

/** The three places a password is given, each with `password` for `email`. */
function places(email: string, token: string) {
  return {
    "POST /signins": (password: string, ip: string) => post("/signins", { grant_type: "password", email, password }, ip),
    "POST /sessions": (password: string, ip: string) => post("/sessions", { email, password }, ip, CSRF),
    "POST /account/password": (password: string, ip: string) =>
      post("/account/password", { current_password: password, new_password: "a brand new passphrase" }, ip, { authorization: `Bearer ${token}` }),
  };
}

const WRONG_ANSWER: Record<string, [number, string]> = {
  "POST /signins": [401, "invalid_credentials"],
  "POST /sessions": [401, "invalid_credentials"],
  "POST /account/password": [400, "invalid_request"],
};

async function answer(res: Response): Promise<[number, string]> {
  if (res.status === 200) return void (await res.body?.cancel()), [200, "ok"];
  return [res.status, (await errorOf(res)).error.code];
}

interface AuditEvent {
  action: string;
  actor: { type: string; id: string };
  resource: { type: string; id: string };
  details: Record<string, unknown> | null;
}

async function auditOf(requestId: string): Promise<AuditEvent[]> {
  const res = await admin("GET", `/audit-events?request_id=${requestId}`);
  return ((await res.json()) as { data: AuditEvent[] }).data;
}

describe("every password check shares the sign-in throttle", () => {
  it.each(Object.keys(WRONG_ANSWER))("after the email's limit spent elsewhere, %s refuses even the right password", async (last) => {
    const { email } = await newAdmin();
    const at = places(email, await tokenOf(email));
    const others = Object.entries(at).filter(([name]) => name !== last);
    // Four wrong passwords over the other two places, each from its own address: only the email's limit is spent.
    for (let i = 0; i < 4; i++) {
      const [name, place] = others[i % others.length]!;
      expect(await answer(await place(`wrong guess ${i}`, uniqueIp())), name).toEqual(WRONG_ANSWER[name]);
    }
    const refused = await at[last as keyof typeof at](PASSWORD, uniqueIp());
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await answer(refused)).toEqual([429, "too_many_failed_attempts"]);
  });

  it("one address's attempts count at every place, whichever emails it tries", async () => {
    const target = await newAdmin();
    const at = places(target.email, await tokenOf(target.email));
    const ip = uniqueIp();
    // Five attempts from one address (its limit), each for another email, at the two sign-in places.
    for (let i = 0; i < 5; i++) {
      const other = places(uniqueEmail("spray"), "unused");
      const res = i % 2 === 0 ? await other["POST /signins"]("Winter2026!!", ip) : await other["POST /sessions"]("Winter2026!!", ip);
      expect(await answer(res)).toEqual([401, "invalid_credentials"]);
    }
    expect(await answer(await at["POST /account/password"](PASSWORD, ip))).toEqual([429, "too_many_failed_attempts"]);
    // The same right password from another address is taken.
    expect(await answer(await at["POST /account/password"](PASSWORD, uniqueIp()))).toEqual([200, "ok"]);
  });

  it("POST /account/password cannot be guessed at full speed with a leaked token", async () => {
    const { email } = await newAdmin();
    const token = await tokenOf(email);
    const change = places(email, token)["POST /account/password"];
    const answers = [];
    for (let i = 0; i < 6; i++) answers.push((await answer(await change(`guess ${i}`, uniqueIp())))[0]);
    expect(answers).toEqual([400, 400, 400, 400, 429, 429]);
    // And the right password is not confirmed during the block.
    expect(await answer(await change(PASSWORD, uniqueIp()))).toEqual([429, "too_many_failed_attempts"]);
  });
});

describe("every wrong password is a failed sign-in in the audit trail", () => {
  it.each(Object.keys(WRONG_ANSWER))("%s records signin.failed for the email, saying which check it was", async (name) => {
    const account = await newAdmin();
    const at = places(account.email, await tokenOf(account.email));
    const ip = uniqueIp();
    const res = await at[name as keyof typeof at]("not the password", ip);
    const requestId = res.headers.get("x-request-id")!;
    expect(await answer(res)).toEqual(WRONG_ANSWER[name]);
    const [event, ...more] = await auditOf(requestId);
    expect(more).toEqual([]);
    const changing = name === "POST /account/password";
    expect(event).toMatchObject({
      action: "signin.failed",
      // A password change is made by a signed-in admin: the audit names them; a sign-in, the client.
      actor: changing ? { type: "admin", id: account.id } : { type: "client", id: ip },
      resource: { type: "signin", id: account.email },
      details: { email: account.email, ip, reason: "invalid_credentials", check: changing ? "password_change" : "sign_in" },
    });
  });

  it("records the start of a block at POST /account/password once, and its right password changes nothing", async () => {
    const account = await newAdmin();
    const change = places(account.email, await tokenOf(account.email))["POST /account/password"];
    for (let i = 0; i < 4; i++) await answer(await change(`guess ${i}`, uniqueIp()));
    const before = await env.DB.prepare("SELECT password_hash FROM admins WHERE id = ?").bind(account.id).first<{ password_hash: string }>();
    const first = await change(PASSWORD, uniqueIp());
    const second = await change(PASSWORD, uniqueIp());
    expect([(await answer(first))[0], (await answer(second))[0]]).toEqual([429, 429]);
    const [throttled] = await auditOf(first.headers.get("x-request-id")!);
    expect(throttled).toMatchObject({ action: "signin.throttled", actor: { type: "admin", id: account.id }, details: { reason: "too_many_attempts", limits: ["email"] } });
    expect(await auditOf(second.headers.get("x-request-id")!)).toEqual([]);
    const after = await env.DB.prepare("SELECT password_hash FROM admins WHERE id = ?").bind(account.id).first<{ password_hash: string }>();
    expect(after).toEqual(before);
  });
});
