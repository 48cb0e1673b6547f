import type { AuthenticationResponseJSON } from "@simplewebauthn/server";
import type { Context } from "hono";
import { clientIp } from "../guards/throttle";
import { ApiError, RejectedCredential } from "../http/errors";
import { guardedCheck, type Attempt, type Factor } from "../identity/attempts";
import { authenticationOptions, passkeyNamed, relyingParty, verifyPasskey, type PasskeyPurpose } from "../identity/passkeys";
import { checkPassword } from "../identity/passwords";
import { AMR, checkCode } from "../identity/second-factor";
import { startSession } from "../identity/session-policy";
import { signinSettings, type SigninSettings } from "../identity/signin-settings";
import { hashKey } from "../keys/hash";
import { randomBase62 } from "../keys/random";
import type { Services } from "../services";
import { getAdmin, getAdminByEmail, markSignedIn, type AdminRow } from "../store/admin-repo";
import { peekChallenge, storeChallenge, takeChallenge } from "../store/challenge-repo";
import { factorMethods, factorSummary, hasSecondFactor, type FactorSummary } from "../store/factor-repo";
import { insertSession, pruneSessions, type SessionKind, type SessionRow } from "../store/session-repo";
import { storedAddress } from "../usage/addresses";
import { adminResource, auditStatement } from "../store/audit-trail";
import type { AdminEnv } from "./context";
import { invalidToken } from "./credentials";

/**
 * Signing in, whichever way it starts (a password, a passkey, single sign-on) and wherever it is
 * asked for (POST /signins for scripts and the CLI, POST /sessions for the console, the single
 * sign-on callback): the first step proves one thing; an admin with a second factor then gives it
 * (401 mfa_required with a single-use mfa_token, completed with a code or a passkey); an admin
 * who must have one and has none gets a session that may only enrol one. Every sign-in is a
 * session (session-policy.ts), and every success and failure is in the audit trail.
 */

/** What a sign-in knows of the request it came in: the client's headers, the request's id and URL. */
export interface Caller {
  headers: Headers;
  requestId: string;
  url: string;
}

/** What a sign-in knows of its request. */
export function callerOf(c: Context<AdminEnv>): Caller {
  return { headers: c.req.raw.headers, requestId: c.var.requestId, url: c.req.url };
}

/** A first step that succeeded: who, and how (amr values); `multiFactor` when it was two factors in one. */
export interface FirstStep {
  admin: AdminRow;
  methods: string[];
  multiFactor: boolean;
}

export interface SignedIn {
  admin: AdminRow;
  session: SessionRow;
  /** The session's secret: a console session's cookie; never given out for an API session. */
  secret: string;
}

/** How long an mfa_token may be used. */
export const MFA_TOKEN_TTL_SECONDS = 300;

/** A second factor: a code (TOTP or recovery), or a passkey's answer to a challenge. */
export type SecondFactorProof = { code: string } | { passkey: AuthenticationResponseJSON };

/** The second factor a validated body gives: its code, else its passkey's answer (the schemas let exactly one through). */
export function proofOf(body: { code?: string; passkey?: AuthenticationResponseJSON }): SecondFactorProof {
  return body.code !== undefined ? { code: body.code } : { passkey: body.passkey! };
}

interface PendingSignin {
  epoch: number;
  methods: string[];
}

/** A known admin's secret, given in the request of `caller`, for `check`. */
export const attemptOf = (admin: AdminRow, caller: Caller, check: Attempt["check"]): Attempt => ({ email: admin.email, admin, client: caller, check });

/**
 * Refused before any password is checked: the switch is the same for every email, so it tells
 * nothing. The settings it read, for the rest of the sign-in.
 */
async function assertPasswordSigninOn(services: Services): Promise<SigninSettings> {
  const settings = await signinSettings(services.db);
  if (!settings.passwordSignin) {
    throw new ApiError("password_signin_disabled", "Password sign-in is turned off for this keygate: sign in with single sign-on or a passkey.");
  }
  return settings;
}

/**
 * The password step. The password is checked by the one password check (identity/passwords.ts),
 * which throttles it and records a failure in the audit trail; a wrong password and an unknown
 * email get the same answer.
 */
export async function passwordStep(services: Services, caller: Caller, email: string, password: string, kind: SessionKind): Promise<SignedIn> {
  const settings = await assertPasswordSigninOn(services);
  const admin = await getAdminByEmail(services.db, email);
  const valid = await checkPassword(services, { email, admin, client: caller, check: "sign_in" }, password);
  if (!valid || !admin) throw new ApiError("invalid_credentials", "The email or password is not correct.");
  return continueSignin(services, caller, { admin, methods: [AMR.password], multiFactor: false }, kind, settings);
}

/**
 * After a first step: on to the second factor, or signed in (possibly to enrol one). `settings`
 * when the first step read them already; otherwise they are read if needed.
 */
export async function continueSignin(services: Services, caller: Caller, first: FirstStep, kind: SessionKind, settings?: SigninSettings): Promise<SignedIn> {
  const { admin } = first;
  const factors = await factorSummary(services.db, admin.id);
  const hasFactor = hasSecondFactor(factors);
  if (!first.multiFactor && hasFactor) throw await mfaRequired(services, caller, first, factors);
  const enrolmentOnly = !first.multiFactor && !hasFactor && (settings ?? (await signinSettings(services.db))).secondFactorRequired;
  return completeSignin(services, caller, admin, { kind, methods: first.methods, enrolmentOnly });
}

/** 401 mfa_required: a single-use mfa_token for the second step, and the factors the admin can give. */
async function mfaRequired(services: Services, caller: Caller, first: FirstStep, factors: FactorSummary): Promise<ApiError> {
  const token = randomBase62(43);
  const now = services.clock.now();
  const pending: PendingSignin = { epoch: first.admin.session_epoch, methods: first.methods };
  await storeChallenge(
    services.db,
    { id: await hashKey(token), kind: "mfa", admin_id: first.admin.id, data: JSON.stringify(pending), expires_at: now + MFA_TOKEN_TTL_SECONDS * 1000 },
    now,
  );
  const passkey = factors.passkeys > 0 ? await authenticationOptions(services, first.admin, relyingParty(caller.url), "mfa") : undefined;
  return new ApiError(
    "mfa_required",
    `A second factor is needed: send grant_type "mfa" with this mfa_token and a code from your authenticator app or a recovery code${passkey ? ", or your passkey's answer to passkey_options" : ""}, within ${MFA_TOKEN_TTL_SECONDS / 60} minutes.`,
    { mfa_token: token, expires_in: MFA_TOKEN_TTL_SECONDS, methods: factorMethods(factors), ...(passkey ? { passkey_options: passkey } : {}) },
  );
}

/**
 * The second step. A made-up mfa_token counts as a failed credential of the client; a wrong code
 * or passkey as a failed sign-in of the admin (throttled and audited like a password) and leaves
 * the mfa_token usable until it expires; a right one spends it, so it is never used twice.
 */
export async function secondFactorStep(services: Services, caller: Caller, mfaToken: string, proof: SecondFactorProof, kind: SessionKind): Promise<SignedIn> {
  const id = await hashKey(mfaToken);
  const { admin, pending } = await services.throttle.guarded({ kind: "credential", ip: clientIp(caller.headers) }, () => pendingSignin(services, id));
  const factor = await checkSecondFactor(services, attemptOf(admin, caller, "sign_in"), proof, relyingParty(caller.url), "mfa");
  if (factor === null) throw new ApiError("invalid_credentials", "The code or passkey is not correct.");
  if (!(await takeChallenge(services.db, id, "mfa", services.clock.now()))) throw invalidToken(MFA_TOKEN_REFUSED);
  return completeSignin(services, caller, admin, { kind, methods: [...pending.methods, AMR[factor]], enrolmentOnly: false });
}

const MFA_TOKEN_REFUSED = "The mfa_token is not valid, was used already or has expired: sign in again.";

/** The sign-in an unspent mfa_token (by its hash) waits on, or 401 invalid_token. */
async function pendingSignin(services: Services, id: string): Promise<{ admin: AdminRow; pending: PendingSignin }> {
  const row = await peekChallenge(services.db, id, "mfa", services.clock.now());
  const admin = row?.admin_id ? await getAdmin(services.db, row.admin_id) : null;
  const pending = row ? (JSON.parse(row.data) as PendingSignin) : null;
  if (!admin || !pending || admin.session_epoch !== pending.epoch) throw invalidToken(MFA_TOKEN_REFUSED);
  return { admin, pending };
}

/** The admin an unspent mfa_token belongs to (to offer their passkeys), or 401 invalid_token. */
export async function pendingSigninAdmin(services: Services, mfaToken: string): Promise<AdminRow> {
  return (await pendingSignin(services, await hashKey(mfaToken))).admin;
}

/**
 * A code or a passkey of the admin, checked as every secret is (throttled per email and client,
 * a failure audited). A passkey of another admin, or none, fails like a wrong code.
 */
export async function checkSecondFactor(
  services: Services,
  attempt: Attempt,
  proof: SecondFactorProof,
  rp: { id: string; origin: string },
  purpose: Exclude<PasskeyPurpose, "register" | "signin">,
): Promise<Factor | null> {
  if ("code" in proof) return checkCode(services, attempt, proof.code);
  const passkey = await passkeyNamed(services, proof.passkey);
  const own = passkey !== null && passkey.admin_id === attempt.admin!.id ? passkey : null;
  const valid = await guardedCheck(services, attempt, "passkey", async () => own !== null && (await verifyPasskey(services, own, proof.passkey, rp, purpose)));
  return valid ? "passkey" : null;
}

/**
 * A sign-in with a passkey alone: a discoverable credential that verified its user (a PIN or a
 * biometric) is two factors in one, so no second step follows. Password sign-in being off does not
 * stop it. An unknown passkey counts as a failed credential of the client.
 */
export async function passkeyStep(services: Services, caller: Caller, response: AuthenticationResponseJSON, kind: SessionKind): Promise<SignedIn> {
  const passkey = await services.throttle.guarded({ kind: "credential", ip: clientIp(caller.headers) }, async () => {
    const found = await passkeyNamed(services, response);
    if (!found) throw new RejectedCredential("invalid_credentials", "This passkey is not registered with keygate.");
    return found;
  });
  const admin = await getAdmin(services.db, passkey.admin_id);
  if (!admin) throw new ApiError("invalid_credentials", "This passkey is not registered with keygate.");
  const valid = await guardedCheck(services, attemptOf(admin, caller, "sign_in"), "passkey", () => verifyPasskey(services, passkey, response, relyingParty(caller.url), "signin"));
  if (!valid) throw new ApiError("invalid_credentials", "The passkey's answer does not verify: try again.");
  return continueSignin(services, caller, { admin, methods: [AMR.passkey, "mfa"], multiFactor: true }, kind);
}

/**
 * The session of a finished sign-in, in one batch with the admin's last sign-in (which starts a
 * fresh per-email attempt count) and its audit event; sessions past their 24 hours are removed in
 * the same batch, so the table does not grow without bound.
 */
export async function completeSignin(
  services: Services,
  caller: Caller,
  admin: AdminRow,
  start: { kind: SessionKind; methods: string[]; enrolmentOnly: boolean },
): Promise<SignedIn> {
  const { db } = services;
  const now = services.clock.now();
  const secret = randomBase62(43);
  const session = startSession(
    admin,
    await hashKey(secret),
    { ...start, userAgent: caller.headers.get("user-agent"), ip: storedAddress(services.config, caller.headers) },
    now,
  );
  const details = { methods: start.methods, session_id: session.id, session_kind: start.kind, ...(start.enrolmentOnly ? { enrolment_only: true } : {}) };
  await db.batch([
    insertSession(db, session),
    markSignedIn(db, admin.id, now),
    auditStatement(db, { type: "admin", id: admin.id, requestId: caller.requestId }, "admin.signed_in", adminResource(admin), now, details),
    pruneSessions(db, now),
  ]);
  return { admin, session, secret };
}
