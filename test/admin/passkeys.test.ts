import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { systemClock } from "../../src/clock";
import { SoftAuthenticator } from "../support/authenticator";
import { ADMIN_TOKEN } from "../support/client";
import { auditOf, body, call, CSRF, enrolTotp, MINUTE, mfaRequired, newAdmin, passwordSignin, signedIn } from "./identity-support";
import { BASE, expectError } from "./support";

/**
 * Passkeys on keygate's own origin, checked on real signatures from a software authenticator:
 * registration, a passkey as the second factor, a passkey alone as the sign-in, and step-up.
 * Challenges are used once; a signature counter that goes back is refused.
 */

async function withPasskey() {
  const owner = await newAdmin();
  const token = await signedIn(owner.email);
  const device = new SoftAuthenticator(BASE);
  const { options } = await body(await call("POST", "/account/passkeys/options", { token }), 200);
  const response = await device.create(options);
  const added = await body(await call("POST", "/account/passkeys", { token, body: { name: "YubiKey", response } }), 201);
  return { owner, token, device, added, response };
}

describe("adding a passkey", () => {
  it("registers on this origin's relying party, with recovery codes for a first factor; the challenge is used once", async () => {
    const { owner, token, added, response } = await withPasskey();
    expect(added).toMatchObject({ object: "passkey", name: "YubiKey", last_used_at: null });
    expect(added.recovery_codes).toHaveLength(10);
    const account = await body(await call("GET", "/account", { token }), 200);
    expect(account.second_factors.passkeys).toEqual([expect.objectContaining({ id: added.id, name: "YubiKey" })]);
    expect((await auditOf(owner.id, "admin.passkey_added")).length).toBe(1);
    // The same answer again: its challenge is spent.
    const replay = await expectError(await call("POST", "/account/passkeys", { token, body: { response } }), 400, "invalid_request");
    expect(replay.error.message).toMatch(/challenge/);
  });

  it("refuses an answer made for another origin or relying party, or to another admin's challenge", async () => {
    const owner = await newAdmin();
    const token = await signedIn(owner.email);
    const device = new SoftAuthenticator(BASE);
    const ask = async () => (await body(await call("POST", "/account/passkeys/options", { token }), 200)).options;
    await expectError(await call("POST", "/account/passkeys", { token, body: { response: await device.create(await ask(), { origin: "https://evil.example" }) } }), 400, "invalid_request");
    await expectError(await call("POST", "/account/passkeys", { token, body: { response: await device.create(await ask(), { rpId: "evil.example" }) } }), 400, "invalid_request");
    const other = await signedIn((await newAdmin()).email);
    const theirs = (await body(await call("POST", "/account/passkeys/options", { token: other }), 200)).options;
    await expectError(await call("POST", "/account/passkeys", { token, body: { response: await device.create(theirs) } }), 400, "invalid_request");
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM admin_passkeys WHERE admin_id = ?").bind(owner.id).first<number>("n")).toBe(0);
  });
});

describe("a passkey as the second factor", () => {
  it("completes a password sign-in; the same signature never works twice", async () => {
    const { owner, device } = await withPasskey();
    const pending = await mfaRequired(await passwordSignin(owner.email));
    expect(pending.methods).toEqual(["passkey", "recovery_code"]);
    const assertion = await device.get(pending.passkey_options);
    const done = await call("POST", "/signins", { body: { grant_type: "mfa", mfa_token: pending.mfa_token, passkey: assertion } });
    expect(done.status).toBe(200);
    // Replayed into a new sign-in: its challenge is spent.
    const again = await mfaRequired(await passwordSignin(owner.email));
    await expectError(await call("POST", "/signins", { body: { grant_type: "mfa", mfa_token: again.mfa_token, passkey: assertion } }), 401, "invalid_credentials");
  });

  it("refuses another admin's passkey and a signature counter that went back (a cloned key)", async () => {
    const alice = await withPasskey();
    const bob = await withPasskey();
    const pending = await mfaRequired(await passwordSignin(alice.owner.email));
    await expectError(
      await call("POST", "/signins", { body: { grant_type: "mfa", mfa_token: pending.mfa_token, passkey: await bob.device.get(pending.passkey_options) } }),
      401,
      "invalid_credentials",
    );
    expect((await call("POST", "/signins", { body: { grant_type: "mfa", mfa_token: pending.mfa_token, passkey: await alice.device.get(pending.passkey_options, undefined, { counter: 5 }) } })).status).toBe(200);
    const next = await mfaRequired(await passwordSignin(alice.owner.email));
    await expectError(
      await call("POST", "/signins", { body: { grant_type: "mfa", mfa_token: next.mfa_token, passkey: await alice.device.get(next.passkey_options, undefined, { counter: 3 }) } }),
      401,
      "invalid_credentials",
    );
  });
});

describe("signing in with a passkey alone", () => {
  it("starts a console session without a password, recorded as two factors in one", async () => {
    const { owner, device } = await withPasskey();
    const { options } = await body(await call("POST", "/sessions/passkey-options", { headers: CSRF }), 200);
    expect(options.allowCredentials).toEqual([]);
    expect(options.userVerification).toBe("required");
    const res = await call("POST", "/sessions", { headers: CSRF, body: { passkey: await device.get(options) } });
    const signin = await body(res, 200);
    expect(res.headers.get("set-cookie")).toMatch(/^keygate_session=/);
    expect((await call("GET", "/tenants", { token: signin.access_token })).status).toBe(200);
    expect((await auditOf(owner.id, "admin.signed_in")).at(-1)!.details.methods).toEqual(["hwk", "mfa"]);
  });

  it("refuses an unknown passkey, a cross-site call and an expired challenge", async () => {
    const stranger = new SoftAuthenticator(BASE);
    const fresh = async () => (await body(await call("POST", "/sessions/passkey-options", { headers: CSRF }), 200)).options;
    await stranger.create({ rp: { id: "api.example.com" }, challenge: "x" });
    await expectError(await call("POST", "/sessions", { headers: CSRF, body: { passkey: await stranger.get(await fresh()) } }), 401, "invalid_credentials");
    await expectError(await call("POST", "/sessions/passkey-options", { headers: { ...CSRF, "sec-fetch-site": "cross-site" } }), 403, "insufficient_permissions");
    const { device } = await withPasskey();
    const late = await fresh();
    systemClock.advance(5 * MINUTE + 1);
    await expectError(await call("POST", "/sessions", { headers: CSRF, body: { passkey: await device.get(late) } }), 401, "invalid_credentials");
  });
});

describe("step-up and removal", () => {
  it("a passkey confirms a step-up; removing it is itself a step-up action", async () => {
    const { token, device, added } = await withPasskey();
    systemClock.advance(6 * MINUTE);
    const refused = await expectError(await call("DELETE", `/account/passkeys/${added.id}`, { token }), 401, "reauthentication_required");
    expect(refused.error.details!.methods).toEqual(["password", "passkey", "recovery_code"]);
    const { options } = await body(await call("POST", "/account/reauthenticate/passkey-options", { token }), 200);
    expect(options.allowCredentials).toEqual([expect.objectContaining({ id: added.id })]);
    expect((await call("POST", "/account/reauthenticate", { token, body: { passkey: await device.get(options) } })).status).toBe(200);
    expect((await call("DELETE", `/account/passkeys/${added.id}`, { token })).status).toBe(204);
    const account = await body(await call("GET", "/account", { token }), 200);
    expect(account.second_factors).toEqual({ totp: false, passkeys: [], recovery_codes_left: 0 });
  });

  it("of the last two factors at once, while every admin must have one: one goes, the other is refused", async () => {
    const { owner, token, added } = await withPasskey();
    await enrolTotp(token);
    const requireSecondFactor = (required: boolean) => call("PATCH", "/settings/signin", { token: ADMIN_TOKEN, body: { second_factor_required: required } });
    expect((await requireSecondFactor(true)).status).toBe(200);
    try {
      const results = await Promise.all([call("DELETE", "/account/totp", { token }), call("DELETE", `/account/passkeys/${added.id}`, { token })]);
      expect(results.map((res) => res.status).sort()).toEqual([204, 409]);
      await expectError(results.find((res) => res.status === 409)!, 409, "conflict");
      const { second_factors } = await body(await call("GET", "/account", { token }), 200);
      expect(Number(second_factors.totp) + second_factors.passkeys.length).toBe(1);
      expect(second_factors.recovery_codes_left).toBe(10);
      const removals = [...(await auditOf(owner.id, "admin.totp_removed")), ...(await auditOf(owner.id, "admin.passkey_removed"))];
      expect(removals).toHaveLength(1);
    } finally {
      expect((await requireSecondFactor(false)).status).toBe(200);
    }
  });
});
