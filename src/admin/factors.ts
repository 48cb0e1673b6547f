import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { ApiError } from "../http/errors";
import { CHALLENGE_TTL_MS, relyingParty, registrationOptions, verifyRegistration } from "../identity/passkeys";
import { hashRecoveryCode, newRecoveryCodes, RECOVERY_CODE_COUNT } from "../identity/recovery-codes";
import { openTotpSecret, sealTotpSecret } from "../identity/second-factor";
import { signinSettings } from "../identity/signin-settings";
import { matchingStep, newTotpSecret, otpauthUri } from "../identity/totp";
import type { Services } from "../services";
import type { AdminRow } from "../store/admin-repo";
import {
  deleteRecoveryCodesWithoutFactor,
  factorSummary,
  getPasskey,
  getTotp,
  hasSecondFactor,
  insertPasskey,
  putPendingTotp,
  removePasskey,
  removeTotp,
  replaceRecoveryCodes,
  takeTotpStep,
  type FactorSummary,
} from "../store/factor-repo";
import { endEnrolmentOnly } from "../store/session-repo";
import { passkeyView } from "./account";
import { actorOf } from "./audit-trail";
import { adminResource, auditStatement } from "../store/audit-trail";
import { isUniqueViolation } from "../store/errors";
import type { AdminEnv } from "./context";
import { Code, PasskeyCreated, PasskeyOptions, PasskeyRegistration, RecoveryCodes, TotpEnrolment } from "./identity-schemas";
import { guardedErrors, json, jsonBody } from "./responses";
import { IdParam } from "./schemas";
import { ownAdmin, signedInAdmin } from "./sessions";
import { stepUp } from "./step-up";
import { assertTokensConfigured } from "./tokens";
import { validationHook } from "./validation";

/**
 * An admin's second factors: a TOTP authenticator, passkeys, and the ten recovery codes that come
 * with the first of them. Adding or removing one is a step-up action (a stolen token must not be
 * able to plant its own factor or take the real one away); a sign-in is itself recent enough, so
 * an admin sent to enrol at sign-in enrols at once.
 */
export const factorRoutes = new OpenAPIHono<AdminEnv>({ defaultHook: validationHook });

const PasskeyId = z.string().regex(/^[A-Za-z0-9_-]{1,1024}$/, "must be a passkey id");

/** The account names keygate in authenticator apps: "keygate (api.example.com)". */
function issuerFor(url: string): string {
  return `keygate (${new URL(url).host})`;
}

/**
 * What a new first factor brings: recovery codes (statements to store their hashes, and the codes
 * to show once), and the end of any enrolment-only session. An admin who already has a factor
 * keeps their codes.
 */
async function firstFactorExtras(services: Services, admin: AdminRow, before: FactorSummary, now: number) {
  const first = !hasSecondFactor(before);
  if (!first) return { statements: [endEnrolmentOnly(services.db, admin.id)], codes: undefined };
  const codes = newRecoveryCodes();
  const hashes = await Promise.all(codes.map(hashRecoveryCode));
  return { statements: [...replaceRecoveryCodes(services.db, admin.id, hashes, now), endEnrolmentOnly(services.db, admin.id)], codes };
}

/**
 * Removes a factor in one batch. The DELETE itself refuses the last factor while every admin must
 * have one, so two removals at once (the authenticator and the last passkey) cannot both pass,
 * each counting on the other's factor staying. The audit event follows only a DELETE that removed
 * something, and with no factor left the recovery codes go too (they stand in for a factor that no
 * longer exists). False when nothing was removed: the factor is the last one, or already gone.
 */
async function removeFactor(
  c: Context<AdminEnv>,
  admin: AdminRow,
  remove: (keepAFactor: boolean) => D1PreparedStatement,
  action: string,
  details?: Record<string, unknown>,
): Promise<boolean> {
  const { db, clock } = c.var.services;
  const { secondFactorRequired } = await signinSettings(db);
  const [removed] = await db.batch([
    remove(secondFactorRequired),
    auditStatement(db, actorOf(c), action, adminResource(admin), clock.now(), details, { ifChanged: true }),
    deleteRecoveryCodesWithoutFactor(db, admin.id),
  ]);
  return removed!.meta.changes > 0;
}

function lastFactor(): ApiError {
  return new ApiError("conflict", "Every admin must have a second factor: add another one before removing this one.");
}

factorRoutes.openapi(
  createRoute({
    method: "post",
    path: "/account/totp",
    summary: "Start enrolling an authenticator app (TOTP)",
    description:
      "Answers a new secret and its `otpauth://` URI (for a QR code), not yet in force: confirm it with a code from the app (`POST /account/totp/confirm`). " +
      "Calling again before confirming replaces it; an admin with an authenticator in force removes it first. A step-up action. " +
      "The secret is stored encrypted with a key derived from JWT_SECRET.",
    middleware: [signedInAdmin, stepUp()],
    responses: { 200: json(TotpEnrolment, "The new authenticator"), ...guardedErrors(400, 409) },
  }),
  async (c) => {
    const { services } = c.var;
    assertTokensConfigured(services.config);
    const admin = ownAdmin(c);
    const secret = newTotpSecret();
    const result = await putPendingTotp(services.db, admin.id, await sealTotpSecret(services.config, admin.id, secret), services.clock.now()).run();
    // The upsert leaves an authenticator in force untouched (0 rows changed).
    if (result.meta.changes !== 1) throw new ApiError("conflict", "An authenticator app is already in force: remove it first (DELETE /account/totp).");
    return c.json({ object: "totp_enrolment" as const, secret, otpauth_uri: otpauthUri(secret, issuerFor(c.req.url), admin.email), confirmed: false as const }, 200);
  },
);

factorRoutes.openapi(
  createRoute({
    method: "post",
    path: "/account/totp/confirm",
    summary: "Confirm the authenticator app with a code from it",
    description:
      "Puts the authenticator in force: from now on a password sign-in also asks for a code. " +
      `With your first second factor, the answer holds ${RECOVERY_CODE_COUNT} one-time recovery codes, shown this once (keygate keeps only their hashes).`,
    middleware: [signedInAdmin],
    request: { body: jsonBody(z.strictObject({ code: Code })) },
    responses: {
      200: json(z.object({ object: z.literal("totp"), confirmed: z.literal(true), recovery_codes: z.array(z.string()).optional() }), "In force"),
      ...guardedErrors(400, 409),
    },
  }),
  async (c) => {
    const { services } = c.var;
    const admin = ownAdmin(c);
    const { code } = c.req.valid("json");
    const totp = await getTotp(services.db, admin.id);
    if (!totp || totp.confirmed_at !== null) throw new ApiError("conflict", "There is no authenticator waiting to be confirmed: start with POST /account/totp.");
    const secret = await openTotpSecret(services.config, admin.id, totp.secret);
    const now = services.clock.now();
    const step = secret === null ? null : await matchingStep(secret, code, now);
    const before = await factorSummary(services.db, admin.id);
    if (step === null || !(await takeTotpStep(services.db, admin.id, step, { now }))) {
      throw new ApiError("invalid_request", "The code is not correct: type the code the app shows now.", { fields: [{ field: "code", message: "is not correct" }] });
    }
    const extras = await firstFactorExtras(services, admin, before, now);
    await services.db.batch([...extras.statements, auditStatement(services.db, actorOf(c), "admin.totp_enrolled", adminResource(admin), now)]);
    return c.json({ object: "totp" as const, confirmed: true as const, ...(extras.codes ? { recovery_codes: extras.codes } : {}) }, 200);
  },
);

factorRoutes.openapi(
  createRoute({
    method: "delete",
    path: "/account/totp",
    summary: "Remove the authenticator app",
    description: "A step-up action. Refused (409) when it is your last second factor and every admin must have one.",
    middleware: [signedInAdmin, stepUp()],
    responses: { 204: { description: "Removed" }, ...guardedErrors(400, 404, 409) },
  }),
  async (c) => {
    const { services } = c.var;
    const admin = ownAdmin(c);
    const noTotp = async () => (await getTotp(services.db, admin.id)) === null;
    if (await noTotp()) throw new ApiError("not_found", "You have no authenticator app.");
    if (!(await removeFactor(c, admin, (keepAFactor) => removeTotp(services.db, admin.id, keepAFactor), "admin.totp_removed"))) {
      // Nothing removed: a concurrent request removed it, or it is the last factor.
      if (await noTotp()) throw new ApiError("not_found", "You have no authenticator app.");
      throw lastFactor();
    }
    return c.body(null, 204);
  },
);

factorRoutes.openapi(
  createRoute({
    method: "post",
    path: "/account/recovery-codes",
    summary: "Replace your recovery codes",
    description: `${RECOVERY_CODE_COUNT} new one-time codes, shown once; the old ones stop working. A step-up action; only with a second factor.`,
    middleware: [signedInAdmin, stepUp()],
    responses: { 200: json(RecoveryCodes, "The new codes"), ...guardedErrors(400, 409) },
  }),
  async (c) => {
    const { services } = c.var;
    const admin = ownAdmin(c);
    const factors = await factorSummary(services.db, admin.id);
    if (!hasSecondFactor(factors)) throw new ApiError("conflict", "Recovery codes come with a second factor: enrol one first.");
    const codes = newRecoveryCodes();
    const now = services.clock.now();
    await services.db.batch([
      ...replaceRecoveryCodes(services.db, admin.id, await Promise.all(codes.map(hashRecoveryCode)), now),
      auditStatement(services.db, actorOf(c), "admin.recovery_codes_replaced", adminResource(admin), now),
    ]);
    return c.json({ object: "recovery_codes" as const, codes }, 200);
  },
);

factorRoutes.openapi(
  createRoute({
    method: "post",
    path: "/account/passkeys/options",
    summary: "Start adding a passkey",
    description:
      `Options for navigator.credentials.create() on this keygate's origin, with a single-use challenge (${CHALLENGE_TTL_MS / 60_000} minutes); send the browser's answer to \`POST /account/passkeys\`. A step-up action.`,
    middleware: [signedInAdmin, stepUp()],
    responses: { 200: json(PasskeyOptions, "Options for the browser"), ...guardedErrors(400) },
  }),
  async (c) => {
    const options = await registrationOptions(c.var.services, ownAdmin(c), relyingParty(c.req.url));
    return c.json({ object: "passkey_options" as const, options: options as unknown as Record<string, unknown> }, 200);
  },
);

factorRoutes.openapi(
  createRoute({
    method: "post",
    path: "/account/passkeys",
    summary: "Add a passkey",
    description:
      "The browser's answer to `POST /account/passkeys/options`, checked against its challenge (once), this origin and keygate's relying party id. " +
      `With your first second factor, the answer holds ${RECOVERY_CODE_COUNT} one-time recovery codes, shown this once.`,
    middleware: [signedInAdmin],
    request: { body: jsonBody(PasskeyRegistration) },
    responses: { 201: json(PasskeyCreated, "The passkey"), ...guardedErrors(400, 409) },
  }),
  async (c) => {
    const { services } = c.var;
    const admin = ownAdmin(c);
    const { name, response } = c.req.valid("json");
    const before = await factorSummary(services.db, admin.id);
    const result = await verifyRegistration(services, admin, response as Parameters<typeof verifyRegistration>[2], name, relyingParty(c.req.url));
    if ("refused" in result) throw new ApiError("invalid_request", `The passkey was not added: ${result.refused}.`, { fields: [{ field: "response", message: result.refused }] });
    const now = services.clock.now();
    const extras = await firstFactorExtras(services, admin, before, now);
    try {
      await services.db.batch([
        insertPasskey(services.db, result.passkey),
        ...extras.statements,
        auditStatement(services.db, actorOf(c), "admin.passkey_added", adminResource(admin), now, { passkey_id: result.passkey.id, name }),
      ]);
    } catch (error) {
      if (isUniqueViolation(error)) throw new ApiError("conflict", "This passkey is registered already.");
      throw error;
    }
    return c.json({ ...passkeyView(result.passkey), ...(extras.codes ? { recovery_codes: extras.codes } : {}) }, 201);
  },
);

factorRoutes.openapi(
  createRoute({
    method: "delete",
    path: "/account/passkeys/{id}",
    summary: "Remove a passkey",
    description: "A step-up action. Refused (409) when it is your last second factor and every admin must have one.",
    middleware: [signedInAdmin, stepUp()],
    request: { params: IdParam(PasskeyId) },
    responses: { 204: { description: "Removed" }, ...guardedErrors(400, 404, 409) },
  }),
  async (c) => {
    const { services } = c.var;
    const admin = ownAdmin(c);
    const id = c.req.valid("param").id;
    const notOwn = async () => (await getPasskey(services.db, id))?.admin_id !== admin.id;
    if (await notOwn()) throw new ApiError("not_found", "No such passkey.");
    if (!(await removeFactor(c, admin, (keepAFactor) => removePasskey(services.db, admin.id, id, keepAFactor), "admin.passkey_removed", { passkey_id: id }))) {
      // Nothing removed: a concurrent request removed it, or it is the last factor.
      if (await notOwn()) throw new ApiError("not_found", "No such passkey.");
      throw lastFactor();
    }
    return c.body(null, 204);
  },
);
