import { describe, expect, it } from "vitest";
import { systemClock } from "../../src/clock";
import { ADMIN_TOKEN, admin, createTenant } from "../support/client";
import { auditOf, body, call, consoleSignin, MINUTE, newAdmin, signedIn } from "./identity-support";
import { expectError, PASSWORD, uniqueEmail } from "./support";

/**
 * Step-up: sensitive actions need an authentication less than 5 minutes old. A sign-in is one; so
 * is POST /account/reauthenticate. Time moves on keygate's clock.
 */

/** The sensitive actions, each as a call an owner (token) makes; all must ask for a step-up. */
async function sensitiveActions(token: string) {
  const target = await newAdmin("viewer");
  const tenant = await createTenant("to suspend");
  return [
    ["create an admin", () => call("POST", "/admins", { token, body: { email: uniqueEmail("new"), password: PASSWORD, role: "viewer" } })],
    ["change a role", () => call("PATCH", `/admins/${target.id}`, { token, body: { role: "admin" } })],
    ["reset an admin's second factors", () => call("DELETE", `/admins/${target.id}/second-factors`, { token })],
    ["remove an admin", () => call("DELETE", `/admins/${target.id}`, { token })],
    ["suspend a tenant", () => call("PATCH", `/tenants/${tenant.id}`, { token, body: { status: "suspended" } })],
    ["turn password sign-in off", () => call("PATCH", "/settings/signin", { token, body: { password_signin: false } })],
    ["require a second factor", () => call("PATCH", "/settings/signin", { token, body: { second_factor_required: true } })],
    ["enrol an authenticator", () => call("POST", "/account/totp", { token })],
    ["add a passkey", () => call("POST", "/account/passkeys/options", { token })],
  ] as const;
}

describe("step-up", () => {
  it("every sensitive action answers 401 reauthentication_required 5 minutes after the sign-in, and works again after a step-up", async () => {
    const owner = await newAdmin();
    const { token } = await consoleSignin(owner.email);
    const actions = await sensitiveActions(token);
    systemClock.advance(5 * MINUTE + 1_000);
    for (const [name, act] of actions) {
      const error = await expectError(await act(), 401, "reauthentication_required");
      expect(error.error.details, name).toEqual({ methods: ["password"], within_seconds: 300 });
    }
    // Nothing changed.
    const settings = await body(await call("GET", "/settings/signin", { token }), 200);
    expect(settings).toMatchObject({ password_signin: true, second_factor_required: false });

    const confirmed = await body(await call("POST", "/account/reauthenticate", { token, body: { password: PASSWORD } }), 200);
    expect(confirmed.object).toBe("reauthentication");
    for (const [name, act] of actions.slice(0, 5)) expect((await act()).status, name).toBeLessThan(300);
    expect((await auditOf(owner.id, "admin.reauthenticated"))[0]!.details).toMatchObject({ method: "password" });
    // And the step-up itself lasts 5 minutes.
    systemClock.advance(5 * MINUTE + 1_000);
    await expectError(await call("POST", "/admins", { token, body: { email: uniqueEmail("late"), password: PASSWORD, role: "viewer" } }), 401, "reauthentication_required");
  });

  it("is per session: confirming in one browser does not raise another", async () => {
    const owner = await newAdmin();
    const one = await consoleSignin(owner.email);
    const two = await consoleSignin(owner.email);
    systemClock.advance(6 * MINUTE);
    await call("POST", "/account/reauthenticate", { token: one.token, body: { password: PASSWORD } });
    const target = await newAdmin("viewer");
    expect((await call("PATCH", `/admins/${target.id}`, { token: one.token, body: { role: "admin" } })).status).toBe(200);
    await expectError(await call("PATCH", `/admins/${target.id}`, { token: two.token, body: { role: "viewer" } }), 401, "reauthentication_required");
  });

  it("a wrong password is refused, audited as a failed step-up, and counted like a sign-in", async () => {
    const owner = await newAdmin();
    const token = await signedIn(owner.email);
    systemClock.advance(6 * MINUTE);
    await expectError(await call("POST", "/account/reauthenticate", { token, body: { password: "not my password" } }), 401, "invalid_credentials");
    const failure = (await auditOf(owner.email, "signin.failed")).at(-1)!;
    expect(failure.actor_id).toBe(owner.id);
    expect(failure.details).toMatchObject({ check: "step_up", reason: "invalid_credentials" });
    await expectError(await call("PATCH", "/settings/signin", { token, body: { password_signin: false } }), 401, "reauthentication_required");
    await expectError(await call("POST", "/account/reauthenticate", { token, body: { password: PASSWORD, code: "123456" } }), 400, "invalid_request");
  });

  it("leaves other changes alone: renaming or reactivating a tenant, keys, reading", async () => {
    const owner = await newAdmin();
    const token = await signedIn(owner.email);
    const tenant = await createTenant("calm");
    systemClock.advance(6 * MINUTE);
    expect((await call("PATCH", `/tenants/${tenant.id}`, { token, body: { name: "renamed" } })).status).toBe(200);
    expect((await call("POST", "/keys", { token, body: { tenant_id: tenant.id } })).status).toBe(201);
    expect((await admin("PATCH", `/tenants/${tenant.id}`, { status: "suspended" })).status).toBe(200);
    expect((await call("PATCH", `/tenants/${tenant.id}`, { token, body: { status: "active" } })).status).toBe(200);
  });

  it("does not apply to the root token, which has no session", async () => {
    systemClock.advance(6 * MINUTE);
    expect((await call("POST", "/admins", { token: ADMIN_TOKEN, body: { email: uniqueEmail("root-made"), password: PASSWORD, role: "viewer" } })).status).toBe(201);
  });
});
