import { env } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import { systemClock } from "../../src/clock";
import { auditOf, body, call, consoleSignin, CSRF, MINUTE, newAdmin, signedIn } from "./identity-support";
import { expectError } from "./support";

/**
 * Sessions that end when they should: a console session unused for SESSION_IDLE_MINUTES ends (its
 * last use written at most once a minute, not on every call); an admin sees their own sessions,
 * ends one or all; sessions past their 24 hours are removed. Time moves on keygate's clock.
 */

const sessionRow = (id: string) => env.DB.prepare("SELECT * FROM admin_sessions WHERE id = ?").bind(id).first<Record<string, any>>();
const sidOf = (token: string) => decodeJwt(token).sid as string;

describe("idle expiry", () => {
  it("ends a console session unused for 30 minutes, and says why; a session in use goes on", async () => {
    const owner = await newAdmin();
    const idle = await consoleSignin(owner.email);
    const busy = await consoleSignin(owner.email);
    for (let i = 0; i < 3; i++) {
      systemClock.advance(15 * MINUTE);
      expect((await call("GET", "/tenants", { token: busy.token })).status).toBe(200);
    }
    // 45 minutes on: the idle session's token (still within its hour) and cookie are refused with the reason.
    const refused = await expectError(await call("GET", "/tenants", { token: idle.token }), 401, "invalid_token");
    expect(refused.error.details).toEqual({ reason: "idle" });
    expect(refused.error.message).toBe("The session was not used for 30 minutes and has ended: sign in again.");
    const cookie = await expectError(await call("POST", "/sessions/refresh", { cookie: idle.cookie, headers: CSRF }), 401, "invalid_token");
    expect(cookie.error.details).toEqual({ reason: "idle" });
    // A refresh is no use: the page left open ends all the same.
    const open = await consoleSignin(owner.email);
    for (let i = 0; i < 4; i++) {
      systemClock.advance(10 * MINUTE);
      await call("POST", "/sessions/refresh", { cookie: open.cookie, headers: CSRF });
    }
    expect((await call("POST", "/sessions/refresh", { cookie: open.cookie, headers: CSRF })).status).toBe(401);
  });

  it("follows SESSION_IDLE_MINUTES, and leaves API sessions (the CLI's) to their 1-hour tokens and 24 hours", async () => {
    const owner = await newAdmin();
    const settings = { SESSION_IDLE_MINUTES: "5" };
    const browser = await consoleSignin(owner.email, { settings });
    const cli = await signedIn(owner.email, { settings });
    systemClock.advance(5 * MINUTE + 30_000);
    const refused = await expectError(await call("GET", "/tenants", { token: browser.token, settings }), 401, "invalid_token");
    expect(refused.error.message).toContain("5 minutes");
    expect((await call("GET", "/tenants", { token: cli, settings })).status).toBe(200);
  });

  it("writes a session's last use at most once a minute, with the client's address", async () => {
    const owner = await newAdmin();
    const { token } = await consoleSignin(owner.email, { ip: "198.51.100.1" });
    const sid = sidOf(token);
    const signedInAt = (await sessionRow(sid))!.last_used_at;
    systemClock.advance(30_000);
    await call("GET", "/tenants", { token, ip: "198.51.100.2" });
    expect((await sessionRow(sid))!.last_used_at).toBe(signedInAt);
    systemClock.advance(31_000);
    await call("GET", "/tenants", { token, ip: "198.51.100.3" });
    const after = (await sessionRow(sid))!;
    expect(after.last_used_at).toBeGreaterThanOrEqual(signedInAt + 60_000);
    expect(after.ip).toBe("198.51.100.3");
  });
});

describe("GET /account/sessions", () => {
  it("lists the admin's own open sessions with device, methods and last use, the current one marked", async () => {
    const owner = await newAdmin();
    const other = await newAdmin();
    const chrome = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36";
    const browser = await consoleSignin(owner.email, { headers: { "user-agent": chrome }, ip: "192.0.2.10" });
    const cli = await signedIn(owner.email, { headers: { "user-agent": "keygate-cli/0.1.0" } });
    await signedIn(other.email);
    const list = await body(await call("GET", "/account/sessions", { token: browser.token }), 200);
    expect(list.data.map((s: any) => [s.kind, s.device, s.current])).toEqual([
      ["api", "keygate CLI", false],
      ["console", "Chrome on macOS", true],
    ]);
    expect(list.data[1]).toMatchObject({ object: "session", id: sidOf(browser.token), methods: ["pwd"], ip: "192.0.2.10", user_agent: chrome });
    expect(list.data[0].id).toBe(sidOf(cli));
  });

  it("keeps no address with LOG_CLIENT_IPS=false", async () => {
    const owner = await newAdmin();
    const settings = { LOG_CLIENT_IPS: "false" };
    const token = await signedIn(owner.email, { settings, ip: "192.0.2.44" });
    const list = await body(await call("GET", "/account/sessions", { token, settings }), 200);
    expect(list.data[0].ip).toBeNull();
    expect((await sessionRow(sidOf(token)))!.ip).toBeNull();
  });
});

describe("ending sessions", () => {
  it("DELETE /account/sessions/{id} ends one session of one's own, and nobody else's", async () => {
    const owner = await newAdmin();
    const stranger = await newAdmin();
    const laptop = await consoleSignin(owner.email);
    const phone = await consoleSignin(owner.email);
    const theirs = await signedIn(stranger.email);
    await expectError(await call("DELETE", `/account/sessions/${sidOf(theirs)}`, { token: laptop.token }), 404, "not_found");
    expect((await call("GET", "/tenants", { token: theirs })).status).toBe(200);

    expect((await call("DELETE", `/account/sessions/${sidOf(phone.token)}`, { token: laptop.token })).status).toBe(204);
    const ended = await expectError(await call("GET", "/tenants", { token: phone.token }), 401, "invalid_token");
    expect(ended.error.details).toEqual({ reason: "signed_out" });
    expect((await call("GET", "/tenants", { token: laptop.token })).status).toBe(200);
    expect((await auditOf(owner.id, "admin.session_revoked"))[0]!.details).toEqual({ session_id: sidOf(phone.token) });
    await expectError(await call("DELETE", "/account/sessions/not-a-session", { token: laptop.token }), 400, "invalid_request");
  });

  it("DELETE /account/sessions signs out everywhere: every session and token, this one included", async () => {
    const owner = await newAdmin();
    const browser = await consoleSignin(owner.email);
    const cli = await signedIn(owner.email);
    expect((await call("DELETE", "/account/sessions", { token: cli })).status).toBe(204);
    for (const token of [browser.token, cli]) await expectError(await call("GET", "/tenants", { token }), 401, "invalid_token");
    await expectError(await call("POST", "/sessions/refresh", { cookie: browser.cookie, headers: CSRF }), 401, "invalid_token");
    expect((await auditOf(owner.id, "admin.signed_out_everywhere")).length).toBe(1);
    expect((await call("GET", "/tenants", { token: await signedIn(owner.email) })).status).toBe(200);
  });

  it("sessions past their 24 hours are removed at the next sign-in; revoked ones stay until then", async () => {
    const owner = await newAdmin();
    const old = await signedIn(owner.email);
    const revoked = await consoleSignin(owner.email);
    await call("DELETE", `/account/sessions/${sidOf(revoked.token)}`, { token: old });
    systemClock.advance(23 * 60 * MINUTE);
    await signedIn(owner.email);
    expect(await sessionRow(sidOf(revoked.token))).not.toBeNull();
    systemClock.advance(61 * MINUTE);
    await signedIn(owner.email);
    expect(await sessionRow(sidOf(old))).toBeNull();
    expect(await sessionRow(sidOf(revoked.token))).toBeNull();
  });
});
