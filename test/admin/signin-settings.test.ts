import { afterEach, describe, expect, it } from "vitest";
import { ADMIN_TOKEN } from "../support/client";
import { auditOf, body, call, consoleSignin, CSRF, enrolTotp, newAdmin, passwordSignin, signedIn } from "./identity-support";
import { expectError, PASSWORD } from "./support";

/**
 * How admins may sign in, as owners set it: password sign-in off (the root token goes on working),
 * a second factor required of everyone (those without one may only enrol one).
 */

const setAsRoot = (change: Record<string, boolean>) => call("PATCH", "/settings/signin", { token: ADMIN_TOKEN, body: change });

afterEach(async () => {
  expect((await setAsRoot({ password_signin: true, second_factor_required: false })).status).toBe(200);
});

describe("password sign-in turned off", () => {
  it("refuses every password sign-in before checking it, and says so on the sign-in page; the root token works", async () => {
    const owner = await newAdmin();
    const token = await signedIn(owner.email);
    const changed = await body(await call("PATCH", "/settings/signin", { token, body: { password_signin: false } }), 200);
    expect(changed).toEqual({ object: "signin_settings", password_signin: false, second_factor_required: false });
    expect((await auditOf("signin", "settings.updated")).at(-1)).toMatchObject({ actor_id: owner.id, details: { password_signin: false } });

    await expectError(await passwordSignin(owner.email), 403, "password_signin_disabled");
    await expectError(await passwordSignin(owner.email, {}, "a wrong password"), 403, "password_signin_disabled");
    await expectError(await call("POST", "/sessions", { headers: CSRF, body: { email: owner.email, password: PASSWORD } }), 403, "password_signin_disabled");
    await expectError(await call("POST", "/account/reauthenticate", { token, body: { password: PASSWORD } }), 403, "password_signin_disabled");
    // Nothing was checked, so nothing failed.
    expect(await auditOf(owner.email, "signin.failed")).toEqual([]);
    expect(await body(await call("GET", "/signin-methods"), 200)).toEqual({ object: "signin_methods", password: false, passkey: true, sso: null });
    // Sessions already signed in go on; the root token always works.
    expect((await call("GET", "/tenants", { token })).status).toBe(200);
    expect((await call("GET", "/tenants", { token: ADMIN_TOKEN })).status).toBe(200);
  });

  it("is for owners and root to change; others are refused", async () => {
    const adminRole = await newAdmin("admin");
    const token = await signedIn(adminRole.email);
    await expectError(await call("PATCH", "/settings/signin", { token, body: { password_signin: false } }), 403, "insufficient_permissions");
    await expectError(await call("GET", "/settings/signin", { token }), 403, "insufficient_permissions");
    await expectError(await setAsRoot({}), 400, "invalid_request");
    await expectError(await call("PATCH", "/settings/signin", { token: ADMIN_TOKEN, body: { password_signin: "no" } }), 400, "invalid_request");
  });
});

describe("a second factor required of every admin", () => {
  it("sends an admin without one to enrol: until then only their account answers", async () => {
    const viewer = await newAdmin("viewer");
    expect((await setAsRoot({ second_factor_required: true })).status).toBe(200);
    const signin = await body(await passwordSignin(viewer.email), 200);
    expect(signin.enrolment_required).toBe(true);
    const token = signin.access_token;
    const refused = await expectError(await call("GET", "/tenants", { token }), 403, "second_factor_required");
    expect(refused.error.message).toMatch(/POST \/account\/totp/);
    const account = await body(await call("GET", "/account", { token }), 200);
    expect(account.session.enrolment_required).toBe(true);

    await enrolTotp(token);
    // Enrolled: the same token may do what the role allows.
    expect((await call("GET", "/tenants", { token })).status).toBe(200);
    // And the next sign-in asks for the code.
    const next = await passwordSignin(viewer.email);
    expect(next.status).toBe(401);
    // The last factor cannot be removed while one is required.
    await expectError(await call("DELETE", "/account/totp", { token }), 409, "conflict");
  });

  it("does not end sessions signed in before it was required; the console's sign-in says so too", async () => {
    const viewer = await newAdmin("viewer");
    const before = await signedIn(viewer.email);
    expect((await setAsRoot({ second_factor_required: true })).status).toBe(200);
    expect((await call("GET", "/tenants", { token: before })).status).toBe(200);
    const res = await call("POST", "/sessions", { headers: CSRF, body: { email: viewer.email, password: PASSWORD } });
    expect((await body(res, 200)).enrolment_required).toBe(true);
    const { token } = await consoleSignin(viewer.email);
    await expectError(await call("GET", "/tenants", { token }), 403, "second_factor_required");
  });
});
