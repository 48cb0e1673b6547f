import { env, exports } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import { admin, uniqueIp } from "../support/client";
import { auditOf } from "./identity-support";
import { adminUser, adminWith, BASE, expectError, PASSWORD } from "./support";

/**
 * The console's sessions (issue 12): a password sign-in starts a session held in an httpOnly
 * cookie; the page gets 1-hour tokens from it; signing out, a password change and the 24-hour
 * limit end it. The cookie routes refuse anything a page of another site could send.
 */

const CSRF = { "x-keygate-csrf": "1" };

function call(method: string, path: string, headers: Record<string, string> = {}, body?: unknown): Promise<Response> {
  return exports.default.fetch(`${BASE}/_keygate/v1${path}`, {
    method,
    headers: { "cf-connecting-ip": uniqueIp(), ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** Signs in as the console does; the session's cookie and its first token. */
async function consoleSignin(email: string, password = PASSWORD) {
  const res = await call("POST", "/sessions", CSRF, { email, password });
  expect(res.status).toBe(200);
  const setCookie = res.headers.get("set-cookie")!;
  const token = ((await res.json()) as { access_token: string }).access_token;
  return { setCookie, cookie: setCookie.split(";")[0]!, token, sid: decodeJwt(token).sid as string };
}

const refresh = (cookie: string, headers: Record<string, string> = CSRF) => call("POST", "/sessions/refresh", { cookie, ...headers });

describe("console sessions", () => {
  it("sets an httpOnly, Secure, SameSite=Strict cookie sent only to the session routes, and stores only its hash", async () => {
    const owner = await adminUser("owner");
    const { setCookie, cookie, sid } = await consoleSignin(owner.email);
    expect(setCookie).toMatch(/^keygate_session=\w{43};/);
    for (const attribute of ["HttpOnly", "Secure", "SameSite=Strict", "Path=/_keygate/v1/sessions", "Max-Age=86400"]) expect(setCookie).toContain(attribute);
    const row = await env.DB.prepare("SELECT * FROM admin_sessions WHERE id = ?").bind(sid).first<Record<string, unknown>>();
    expect(row).toMatchObject({ admin_id: owner.id, revoked_at: null });
    expect(JSON.stringify(row)).not.toContain(cookie.split("=")[1]);
    expect((row!.expires_at as number) - (row!.created_at as number)).toBe(86_400_000);
  });

  it("refreshes into the same session with the sign-in's time, so the 24 hours do not move", async () => {
    const owner = await adminUser("owner");
    const { cookie, token, sid } = await consoleSignin(owner.email);
    const res = await refresh(cookie);
    expect(res.status).toBe(200);
    const next = ((await res.json()) as { access_token: string }).access_token;
    expect(decodeJwt(next)).toMatchObject({ sid, auth_time: decodeJwt(token).auth_time, sub: owner.id });
    expect((await adminWith(next, "GET", "/tenants")).status).toBe(200);
  });

  it("refuses the cookie routes what another site's page could send", async () => {
    const owner = await adminUser("owner");
    const { cookie } = await consoleSignin(owner.email);
    for (const headers of [{}, { ...CSRF, origin: "https://evil.example" }, { ...CSRF, "sec-fetch-site": "cross-site" }, { ...CSRF, "sec-fetch-site": "same-site" }]) {
      const error = await expectError(await refresh(cookie, headers), 403, "insufficient_permissions");
      expect(error.error.details).toEqual({ reason: "cross_site" });
    }
    await expectError(await call("POST", "/sessions", { origin: "https://evil.example", ...CSRF }, { email: owner.email, password: PASSWORD }), 403, "insufficient_permissions");
    await expectError(await call("DELETE", "/sessions/current", { cookie }), 403, "insufficient_permissions");
    // Same origin, with the header: accepted, and the refusals above ended nothing.
    expect((await refresh(cookie, { ...CSRF, origin: BASE, "sec-fetch-site": "same-origin" })).status).toBe(200);
  });

  it("signing out ends the cookie and every token of the session, and no other session", async () => {
    const owner = await adminUser("owner");
    const ended = await consoleSignin(owner.email);
    const other = await consoleSignin(owner.email);
    const signout = await call("DELETE", "/sessions/current", { cookie: ended.cookie, ...CSRF });
    expect(signout.status).toBe(204);
    expect(signout.headers.get("set-cookie")).toMatch(/^keygate_session=;.*Max-Age=0/);
    await expectError(await adminWith(ended.token, "GET", "/tenants"), 401, "invalid_token");
    await expectError(await refresh(ended.cookie), 401, "invalid_token");
    expect((await adminWith(other.token, "GET", "/tenants")).status).toBe(200);
    expect((await refresh(other.cookie)).status).toBe(200);
    // A token refreshed through /signins stays in its session, so it ends with it too.
    const viaSignins = await call("POST", "/signins", { authorization: `Bearer ${other.token}` }, { grant_type: "refresh" });
    const refreshed = ((await viaSignins.json()) as { access_token: string }).access_token;
    expect(decodeJwt(refreshed).sid).toBe(other.sid);
    await call("DELETE", "/sessions/current", { cookie: other.cookie, ...CSRF });
    await expectError(await adminWith(refreshed, "GET", "/tenants"), 401, "invalid_token");
    // Each sign-out is in the audit trail, by the admin, naming the session; signing out again records nothing.
    await call("DELETE", "/sessions/current", { cookie: other.cookie, ...CSRF });
    const signouts = await auditOf(owner.id, "admin.signed_out");
    expect(signouts.map((event) => [event.actor_id, event.details.session_id]).sort()).toEqual([[owner.id, ended.sid], [owner.id, other.sid]].sort());
  });

  it("a session past its 24 hours is refused with the reason, and so are its tokens", async () => {
    const owner = await adminUser("owner");
    const { cookie, token, sid } = await consoleSignin(owner.email);
    await env.DB.prepare("UPDATE admin_sessions SET expires_at = ? WHERE id = ?").bind(Date.now() - 1, sid).run();
    const error = await expectError(await refresh(cookie), 401, "invalid_token");
    expect(error.error.message).toContain("24 hours");
    await expectError(await adminWith(token, "GET", "/tenants"), 401, "invalid_token");
  });

  it("opening the console signed out is not a failed attempt; a made-up cookie is", async () => {
    // Each page load without a session asks for a token once: 40 of them must not block the
    // client's address (which would refuse its API keys on the gateway too).
    const ip = uniqueIp();
    for (let i = 0; i < 40; i++) await expectError(await call("POST", "/sessions/refresh", { ...CSRF, "cf-connecting-ip": ip }), 401, "invalid_token");
    const guesser = uniqueIp();
    const guesses = [];
    for (let i = 0; i < 31; i++) guesses.push((await call("POST", "/sessions/refresh", { ...CSRF, "cf-connecting-ip": guesser, cookie: `keygate_session=guess${i}` })).status);
    expect(guesses.at(-1)).toBe(429);
  });

  it("a password change ends the session", async () => {
    const target = await adminUser("admin");
    const { cookie } = await consoleSignin(target.email);
    expect((await admin("PATCH", `/admins/${target.id}`, { password: "a whole new passphrase" })).status).toBe(200);
    await expectError(await refresh(cookie), 401, "invalid_token");
  });
});

describe("POST /account/password", () => {
  it("lets any admin change their own password with the current one, which signs them out everywhere", async () => {
    const viewer = await adminUser("viewer");
    const { cookie, token } = await consoleSignin(viewer.email);
    const wrong = await expectError(await adminWith(token, "POST", "/account/password", { current_password: "not it at all", new_password: "another long passphrase" }), 400, "invalid_request");
    expect(wrong.error.details).toEqual({ fields: [{ field: "current_password", message: "is not correct" }] });
    expect((await adminWith(token, "POST", "/account/password", { current_password: PASSWORD, new_password: "another long passphrase" })).status).toBe(200);
    await expectError(await adminWith(token, "GET", "/tenants"), 401, "invalid_token");
    await expectError(await refresh(cookie), 401, "invalid_token");
    expect((await call("POST", "/sessions", CSRF, { email: viewer.email, password: "another long passphrase" })).status).toBe(200);
  });

  it("is for signed-in admins only: the root token has no password here", async () => {
    await expectError(await admin("POST", "/account/password", { current_password: "x", new_password: "y".repeat(12) }), 403, "insufficient_permissions");
  });
});

describe("the console page", () => {
  it("/_keygate/ opens it; its HTML loads only this worker's files under the strict CSP", async () => {
    const redirect = await exports.default.fetch(`${BASE}/_keygate/`, { redirect: "manual" });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get("location")).toBe("/_keygate/console");
    const page = await exports.default.fetch(`${BASE}/_keygate/console`);
    const html = await page.text();
    const sources = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(sources).toEqual(["/_keygate/console/console.css", "/_keygate/console/console.js"]);
    expect(html).not.toMatch(/<script>|<style|style=/);
    expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(page.headers.get("x-frame-options")).toBe("DENY");
    for (const file of sources) {
      const res = await exports.default.fetch(`${BASE}${file}`);
      expect(res.status, file).toBe(200);
      expect(res.headers.get("content-security-policy"), file).toContain("frame-ancestors 'none'");
    }
  });
});

describe("GET /scopes", () => {
  it("offers the key form the defaults, what ROUTE_SCOPES asks for, and the self-service scope", async () => {
    const viewer = await adminUser("viewer");
    const res = await adminWith(viewer.token, "GET", "/scopes");
    // vitest.config.ts sets ROUTE_SCOPES with the scopes "servers" and "admin".
    expect(await res.json()).toEqual({ object: "scopes", configured: ["servers", "admin"], defaults: ["read", "write"], self_service: "keys:manage" });
  });
});
