import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { systemClock } from "../../src/clock";
import {
  auditOf,
  body,
  call,
  CSRF,
  enrolTotp,
  MINUTE,
  mfaRequired,
  newAdmin,
  nextStep,
  passwordSignin,
  signedIn,
  totpCode,
} from "./identity-support";
import { expectError } from "./support";

/**
 * An authenticator app (TOTP) as a second factor: enrolled, confirmed with a code, then asked for
 * at every password sign-in; codes come from the tests' own clock (otpauth computes them).
 */

describe("enrolling an authenticator app", () => {
  it("answers a secret and its otpauth URI, not in force until a code from it confirms it", async () => {
    const owner = await newAdmin();
    const token = await signedIn(owner.email);
    const enrolment = await body(await call("POST", "/account/totp", { token }), 200);
    expect(enrolment).toMatchObject({ object: "totp_enrolment", confirmed: false, secret: expect.stringMatching(/^[A-Z2-7]{32}$/) });
    const uri = new URL(enrolment.otpauth_uri);
    expect(uri.protocol).toBe("otpauth:");
    expect(uri.searchParams.get("secret")).toBe(enrolment.secret);
    expect(uri.host).toBe("totp");
    expect(decodeURIComponent(uri.pathname)).toBe(`/keygate (api.example.com):${owner.email}`);
    expect(uri.searchParams.get("issuer")).toBe("keygate (api.example.com)");
    // Not yet in force: the password alone still signs in.
    expect((await passwordSignin(owner.email)).status).toBe(200);
    // The secret is stored sealed: neither it nor its base32 appears in D1.
    const stored = await env.DB.prepare("SELECT secret FROM admin_totp WHERE admin_id = ?").bind(owner.id).first<string>("secret");
    expect(stored).toMatch(/^v1\./);
    expect(stored).not.toContain(enrolment.secret);

    const wrong = await expectError(await call("POST", "/account/totp/confirm", { token, body: { code: "000000" } }), 400, "invalid_request");
    expect(wrong.error.details).toEqual({ fields: [{ field: "code", message: "is not correct" }] });
    const confirmed = await body(await call("POST", "/account/totp/confirm", { token, body: { code: totpCode(enrolment.secret) } }), 200);
    expect(confirmed.recovery_codes).toHaveLength(10);
    expect(new Set(confirmed.recovery_codes).size).toBe(10);
    for (const code of confirmed.recovery_codes) expect(code).toMatch(/^[a-z2-9]{5}-[a-z2-9]{5}$/);
    // Kept only hashed.
    const hashes = await env.DB.prepare("SELECT code_hash FROM admin_recovery_codes WHERE admin_id = ?").bind(owner.id).all<{ code_hash: string }>();
    expect(hashes.results).toHaveLength(10);
    expect(JSON.stringify(hashes.results)).not.toContain(confirmed.recovery_codes[0].replace("-", ""));
    expect((await auditOf(owner.id, "admin.totp_enrolled")).length).toBe(1);
    // In force: a second enrolment is refused until it is removed.
    await expectError(await call("POST", "/account/totp", { token }), 409, "conflict");
    await mfaRequired(await passwordSignin(owner.email));
  });

  it("is for signed-in admins: the root token has no account", async () => {
    await expectError(await call("POST", "/account/totp", { token: (await import("../support/client")).ADMIN_TOKEN }), 403, "insufficient_permissions");
  });
});

describe("a password sign-in of an admin with an authenticator app", () => {
  it("answers 401 mfa_required with a single-use mfa_token, completed by a code from the app", async () => {
    const owner = await newAdmin();
    const { secret } = await enrolTotp(await signedIn(owner.email));
    const pending = await mfaRequired(await passwordSignin(owner.email));
    expect(pending).toMatchObject({ methods: ["totp", "recovery_code"], expires_in: 300 });
    expect(pending.mfa_token).toMatch(/^\w{43}$/);
    // The password step alone started nothing: no session yet.
    const before = await env.DB.prepare("SELECT COUNT(*) AS n FROM admin_sessions WHERE admin_id = ?").bind(owner.id).first<number>("n");

    const done = await body(await call("POST", "/signins", { body: { grant_type: "mfa", mfa_token: pending.mfa_token, code: totpCode(secret) } }), 200);
    expect(done.token_type).toBe("Bearer");
    expect((await call("GET", "/tenants", { token: done.access_token })).status).toBe(200);
    const after = await env.DB.prepare("SELECT methods FROM admin_sessions WHERE admin_id = ? ORDER BY created_at DESC LIMIT 1").bind(owner.id).first<string>("methods");
    expect(JSON.parse(after!)).toEqual(["pwd", "otp"]);
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM admin_sessions WHERE admin_id = ?").bind(owner.id).first<number>("n")).toBe(before! + 1);

    // The mfa_token is spent: used again, even with the next right code, it is refused.
    nextStep();
    await expectError(await call("POST", "/signins", { body: { grant_type: "mfa", mfa_token: pending.mfa_token, code: totpCode(secret) } }), 401, "invalid_token");
  });

  it("accepts a code one step old or one step ahead, refuses two steps away, and never takes a code twice", async () => {
    const owner = await newAdmin();
    const { secret } = await enrolTotp(await signedIn(owner.email));
    // Clear of the step that confirmed the app.
    nextStep();
    const grant = async (code: string) => {
      const { mfa_token } = await mfaRequired(await passwordSignin(owner.email));
      return call("POST", "/signins", { body: { grant_type: "mfa", mfa_token, code } });
    };
    await expectError(await grant(totpCode(secret, -2)), 401, "invalid_credentials");
    await expectError(await grant(totpCode(secret, 2)), 401, "invalid_credentials");
    expect((await grant(totpCode(secret, -1))).status).toBe(200);
    // The same code again, within its window: refused (its step is spent).
    await expectError(await grant(totpCode(secret, -1)), 401, "invalid_credentials");
    // A code of an earlier step than one already accepted is refused too.
    expect((await grant(totpCode(secret, 1))).status).toBe(200);
    await expectError(await grant(totpCode(secret, 0)), 401, "invalid_credentials");
    // The next step's own code works once the clock gets there.
    nextStep();
    nextStep();
    expect((await grant(totpCode(secret))).status).toBe(200);
  });

  it("a wrong code leaves the mfa_token usable; the failure is audited and counted like a password", async () => {
    const owner = await newAdmin();
    const { secret } = await enrolTotp(await signedIn(owner.email));
    const { mfa_token } = await mfaRequired(await passwordSignin(owner.email));
    const ip = "203.0.113.77";
    await expectError(await call("POST", "/signins", { ip, body: { grant_type: "mfa", mfa_token, code: "123456" } }), 401, "invalid_credentials");
    const failures = await auditOf(owner.email, "signin.failed");
    expect(failures.at(-1)!.details).toMatchObject({ email: owner.email, factor: "totp", check: "sign_in", reason: "invalid_credentials", ip });
    expect((await call("POST", "/signins", { body: { grant_type: "mfa", mfa_token, code: totpCode(secret) } })).status).toBe(200);
  });

  it("counts codes against the email's sign-in limit: guessing is stopped at 429", async () => {
    const owner = await newAdmin();
    await enrolTotp(await signedIn(owner.email));
    const settings = { SIGNIN_LIMIT_PER_EMAIL: "4" };
    const { mfa_token } = await mfaRequired(await passwordSignin(owner.email, { settings }));
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await call("POST", "/signins", { settings, body: { grant_type: "mfa", mfa_token, code: String(100000 + i) } })).status);
    expect(statuses).toEqual([401, 401, 401, 429]);
  });

  it("an mfa_token expires after 5 minutes", async () => {
    const owner = await newAdmin();
    const { secret } = await enrolTotp(await signedIn(owner.email));
    const { mfa_token } = await mfaRequired(await passwordSignin(owner.email));
    systemClock.advance(5 * MINUTE + 1);
    const error = await expectError(await call("POST", "/signins", { body: { grant_type: "mfa", mfa_token, code: totpCode(secret) } }), 401, "invalid_token");
    expect(error.error.message).toMatch(/sign in again/);
  });

  it("a made-up mfa_token is refused and counted as a failed credential of the client", async () => {
    const ip = "2001:db8:abcd:12::1";
    const statuses = [];
    for (let i = 0; i < 31; i++) statuses.push((await call("POST", "/signins", { ip, body: { grant_type: "mfa", mfa_token: `made-up-${i}`, code: "123456" } })).status);
    expect(statuses[0]).toBe(401);
    expect(statuses.at(-1)).toBe(429);
  });

  it("refuses a code and a passkey together, and neither", async () => {
    const res = await call("POST", "/signins", { body: { grant_type: "mfa", mfa_token: "x" } });
    await expectError(res, 400, "invalid_request");
  });
});

describe("recovery codes", () => {
  it("each completes a sign-in once, in any case and with or without its dash", async () => {
    const owner = await newAdmin();
    const { recoveryCodes } = await enrolTotp(await signedIn(owner.email));
    const grant = async (code: string) => {
      const { mfa_token } = await mfaRequired(await passwordSignin(owner.email));
      return call("POST", "/signins", { body: { grant_type: "mfa", mfa_token, code } });
    };
    expect((await grant(recoveryCodes[0]!.toUpperCase().replace("-", " "))).status).toBe(200);
    await expectError(await grant(recoveryCodes[0]!), 401, "invalid_credentials");
    expect((await grant(recoveryCodes[1]!)).status).toBe(200);
    const account = await body(await call("GET", "/account", { token: await signedIn2(owner.email, recoveryCodes[2]!) }), 200);
    expect(account.second_factors).toMatchObject({ totp: true, recovery_codes_left: 7 });
  });

  it("can be replaced (a step-up action): the old ones stop working", async () => {
    const owner = await newAdmin();
    const token = await signedIn(owner.email);
    const { recoveryCodes } = await enrolTotp(token);
    const fresh = await body(await call("POST", "/account/recovery-codes", { token }), 200);
    expect(fresh.codes).toHaveLength(10);
    const { mfa_token } = await mfaRequired(await passwordSignin(owner.email));
    await expectError(await call("POST", "/signins", { body: { grant_type: "mfa", mfa_token, code: recoveryCodes[0] } }), 401, "invalid_credentials");
    expect((await call("POST", "/signins", { body: { grant_type: "mfa", mfa_token, code: fresh.codes[0] } })).status).toBe(200);
  });
});

/** Signs in with password and a recovery code; the token. */
async function signedIn2(email: string, code: string): Promise<string> {
  const { mfa_token } = await mfaRequired(await passwordSignin(email));
  return (await body(await call("POST", "/signins", { body: { grant_type: "mfa", mfa_token, code } }), 200)).access_token;
}

describe("the console's sign-in", () => {
  it("takes the same two steps, and only the second sets the session cookie", async () => {
    const owner = await newAdmin();
    const { secret } = await enrolTotp(await signedIn(owner.email));
    const first = await call("POST", "/sessions", { headers: CSRF, body: { email: owner.email, password: "correct horse battery staple" } });
    expect(first.headers.get("set-cookie")).toBeNull();
    const { mfa_token } = await mfaRequired(first);
    // Cross-site: refused like every cookie route.
    await expectError(await call("POST", "/sessions", { headers: { ...CSRF, origin: "https://evil.example" }, body: { mfa_token, code: totpCode(secret) } }), 403, "insufficient_permissions");
    const second = await call("POST", "/sessions", { headers: CSRF, body: { mfa_token, code: totpCode(secret) } });
    expect(second.status).toBe(200);
    expect(second.headers.get("set-cookie")).toMatch(/^keygate_session=\w{43};/);
  });
});

describe("removing the authenticator app", () => {
  it("is a step-up action; with it goes the last factor, the recovery codes, and the second step", async () => {
    const owner = await newAdmin();
    const token = await signedIn(owner.email);
    const { secret } = await enrolTotp(token);
    systemClock.advance(5 * MINUTE + 1);
    const refused = await expectError(await call("DELETE", "/account/totp", { token }), 401, "reauthentication_required");
    expect(refused.error.details).toMatchObject({ methods: ["password", "totp", "recovery_code"], within_seconds: 300 });
    expect((await call("POST", "/account/reauthenticate", { token, body: { code: totpCode(secret) } })).status).toBe(200);
    expect((await call("DELETE", "/account/totp", { token })).status).toBe(204);
    expect((await auditOf(owner.id, "admin.totp_removed")).length).toBe(1);
    expect((await passwordSignin(owner.email)).status).toBe(200);
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM admin_recovery_codes WHERE admin_id = ?").bind(owner.id).first<number>("n")).toBe(0);
  });

  it("a secret sealed under another JWT_SECRET no longer checks: the admin uses a recovery code", async () => {
    const owner = await newAdmin();
    const { secret, recoveryCodes } = await enrolTotp(await signedIn(owner.email));
    const settings = { JWT_SECRET: "another-jwt-secret-that-is-long-enough-987654321" };
    const { mfa_token } = await mfaRequired(await passwordSignin(owner.email, { settings }));
    await expectError(await call("POST", "/signins", { settings, body: { grant_type: "mfa", mfa_token, code: totpCode(secret) } }), 401, "invalid_credentials");
    expect((await call("POST", "/signins", { settings, body: { grant_type: "mfa", mfa_token, code: recoveryCodes[0] } })).status).toBe(200);
  });
});

describe("an owner resetting an admin's second factors", () => {
  it("removes them all and ends the admin's sessions: the password alone signs in again", async () => {
    const owner = await newAdmin();
    const ownerToken = await signedIn(owner.email);
    const lost = await newAdmin("admin");
    const lostToken = await signedIn(lost.email);
    await enrolTotp(lostToken);
    await mfaRequired(await passwordSignin(lost.email));
    expect((await call("DELETE", `/admins/${lost.id}/second-factors`, { token: ownerToken })).status).toBe(204);
    await expectError(await call("GET", "/tenants", { token: lostToken }), 401, "invalid_token");
    expect((await passwordSignin(lost.email)).status).toBe(200);
    expect((await auditOf(lost.id, "admin.second_factors_reset"))[0]!.actor_id).toBe(owner.id);
    await expectError(await call("DELETE", `/admins/${lost.id}/second-factors`, { token: lostToken }), 401, "invalid_token");
  });
});
