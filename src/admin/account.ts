import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { ApiError } from "../http/errors";
import { checkPassword, hasPassword } from "../identity/passwords";
import { authenticationOptions, CHALLENGE_TTL_MS, relyingParty } from "../identity/passkeys";
import { lastUsedAt, MAX_SESSION_SECONDS, STEP_UP_SECONDS } from "../identity/session-policy";
import { signinSettings } from "../identity/signin-settings";
import { endTokensOf } from "../store/admin-repo";
import { factorSummary, passkeysOf } from "../store/factor-repo";
import { getSession, openSessionsOf, recordAuthentication, revokeSessionOf, revokeSessionsOf, type SessionRow } from "../store/session-repo";
import { actorOf } from "./audit-trail";
import { adminResource, auditStatement } from "../store/audit-trail";
import type { AdminEnv } from "./context";
import { deviceOf } from "./devices";
import { Account, PasskeyOptions, Reauthentication, Session } from "./identity-schemas";
import { guardedErrors, json, jsonBody } from "./responses";
import { IdParam } from "./schemas";
import { accountOf, ownAdmin, signedInAdmin } from "./sessions";
import { attemptOf, callerOf, checkSecondFactor, proofOf } from "./signin-flow";
import { iso } from "./time";
import { validationHook } from "./validation";

/**
 * A signed-in admin's own account: who they are and how they sign in, their sessions (each
 * revocable, or all at once), and the step-up that sensitive actions need (step-up.ts).
 */
export const accountRoutes = new OpenAPIHono<AdminEnv>({ defaultHook: validationHook });

export const SessionId = z.string().regex(/^ses_[0-9A-Za-z]{1,64}$/, "must be a session id (ses_…)");

export function passkeyView(row: { id: string; name: string; created_at: number; last_used_at: number | null }) {
  return { id: row.id, object: "passkey" as const, name: row.name, created_at: iso(row.created_at), last_used_at: iso(row.last_used_at) };
}

function sessionView(row: SessionRow, currentId: string | null) {
  return {
    id: row.id,
    object: "session" as const,
    kind: row.kind,
    device: deviceOf(row.user_agent),
    user_agent: row.user_agent,
    methods: JSON.parse(row.methods) as string[],
    created_at: iso(row.created_at),
    last_used_at: iso(lastUsedAt(row)),
    expires_at: iso(row.expires_at),
    ip: row.ip,
    current: row.id === currentId,
  };
}

accountRoutes.openapi(
  createRoute({
    method: "get",
    path: "/account",
    summary: "Your account",
    description: "Who you are, your second factors, and the session of this token (whether it may only enrol a second factor).",
    middleware: [signedInAdmin],
    responses: { 200: json(Account, "Your account"), ...guardedErrors(400) },
  }),
  async (c) => {
    const admin = ownAdmin(c);
    const { session } = accountOf(c);
    const { db } = c.var.services;
    const [factors, passkeys] = await Promise.all([factorSummary(db, admin.id), passkeysOf(db, admin.id)]);
    return c.json(
      {
        object: "account" as const,
        id: admin.id,
        email: admin.email,
        role: admin.role,
        has_password: hasPassword(admin),
        second_factors: { totp: factors.totp, passkeys: passkeys.map(passkeyView), recovery_codes_left: factors.recoveryCodesLeft },
        session: { id: session.id, authenticated_at: iso(session.authenticatedAt), enrolment_required: session.enrolmentOnly },
      },
      200,
    );
  },
);

accountRoutes.openapi(
  createRoute({
    method: "post",
    path: "/account/reauthenticate",
    summary: "Confirm who you are (step-up)",
    description:
      `Sensitive actions answer \`401 reauthentication_required\` when your last sign-in or confirmation is more than ${STEP_UP_SECONDS / 60} minutes old. ` +
      "Give your password, a code (authenticator app or recovery code) or a passkey's answer to `POST /account/reauthenticate/passkey-options`; " +
      `the session of this token may then do them for ${STEP_UP_SECONDS / 60} minutes. Checked like a sign-in: the same attempt limits (429), a failure audited. ` +
      "A password is refused while password sign-in is turned off.",
    middleware: [signedInAdmin],
    request: { body: jsonBody(Reauthentication) },
    responses: { 200: json(z.object({ object: z.literal("reauthentication"), authenticated_at: z.string() }), "Confirmed"), ...guardedErrors(400) },
  }),
  async (c) => {
    const body = c.req.valid("json");
    const { services } = c.var;
    const admin = ownAdmin(c);
    const { session } = accountOf(c);
    if (session.id === null) throw new ApiError("reauthentication_required", "This token belongs to no session: sign in again.", { methods: [] });
    const attempt = attemptOf(admin, callerOf(c), "step_up");
    let method: string;
    if (body.password !== undefined) {
      if (!(await signinSettings(services.db)).passwordSignin) {
        throw new ApiError("password_signin_disabled", "Password sign-in is turned off: confirm with a code or a passkey.");
      }
      if (!(await checkPassword(services, attempt, body.password))) throw new ApiError("invalid_credentials", "The password is not correct.");
      method = "password";
    } else {
      const factor = await checkSecondFactor(services, attempt, proofOf(body), relyingParty(c.req.url), "step_up");
      if (factor === null) throw new ApiError("invalid_credentials", "The code or passkey is not correct.");
      method = factor;
    }
    const now = services.clock.now();
    await services.db.batch([
      recordAuthentication(services.db, session.id, now),
      auditStatement(services.db, actorOf(c), "admin.reauthenticated", adminResource(admin), now, { method, session_id: session.id }),
    ]);
    return c.json({ object: "reauthentication" as const, authenticated_at: iso(now) }, 200);
  },
);

accountRoutes.openapi(
  createRoute({
    method: "post",
    path: "/account/reauthenticate/passkey-options",
    summary: "Start a step-up with a passkey",
    description: `A single-use challenge (${CHALLENGE_TTL_MS / 60_000} minutes) for navigator.credentials.get(), offering your own passkeys; answer it with \`POST /account/reauthenticate {passkey}\`.`,
    middleware: [signedInAdmin],
    responses: { 200: json(PasskeyOptions, "Options for the browser"), ...guardedErrors(400) },
  }),
  async (c) => {
    const options = await authenticationOptions(c.var.services, ownAdmin(c), relyingParty(c.req.url), "step_up");
    return c.json({ object: "passkey_options" as const, options: options as unknown as Record<string, unknown> }, 200);
  },
);

accountRoutes.openapi(
  createRoute({
    method: "get",
    path: "/account/sessions",
    summary: "Your sessions",
    description:
      `Every sign-in of yours that has not been signed out or reached its ${MAX_SESSION_SECONDS / 3600} hours, newest first: the console's (a browser) and the API's (the CLI, scripts). ` +
      "A console session unused for SESSION_IDLE_MINUTES has ended even if listed. The address is shown only when LOG_CLIENT_IPS allows keeping it.",
    middleware: [signedInAdmin],
    responses: { 200: json(z.object({ object: z.literal("list"), data: z.array(Session) }), "Your sessions"), ...guardedErrors(400) },
  }),
  async (c) => {
    const { id, session } = accountOf(c);
    const rows = await openSessionsOf(c.var.services.db, id, c.var.services.clock.now());
    return c.json({ object: "list" as const, data: rows.map((row) => sessionView(row, session.id)) }, 200);
  },
);

accountRoutes.openapi(
  createRoute({
    method: "delete",
    path: "/account/sessions/{id}",
    summary: "Sign out one of your sessions",
    description: "Ends the session and every token of it at once (another browser, a lost laptop's CLI). Another admin's session id is not found (404).",
    middleware: [signedInAdmin],
    request: { params: IdParam(SessionId) },
    responses: { 204: { description: "Signed out" }, ...guardedErrors(400, 404) },
  }),
  async (c) => {
    const { services } = c.var;
    const admin = ownAdmin(c);
    const id = c.req.valid("param").id;
    const row = await getSession(services.db, id);
    if (!row || row.admin_id !== admin.id) throw new ApiError("not_found", "No such session.");
    const now = services.clock.now();
    await services.db.batch([
      revokeSessionOf(services.db, admin.id, id, now),
      auditStatement(services.db, actorOf(c), "admin.session_revoked", adminResource(admin), now, { session_id: id }, { ifChanged: true }),
    ]);
    return c.body(null, 204);
  },
);

accountRoutes.openapi(
  createRoute({
    method: "delete",
    path: "/account/sessions",
    summary: "Sign out everywhere",
    description: "Ends every session and token of yours, this one included: every browser and CLI signs in again.",
    middleware: [signedInAdmin],
    responses: { 204: { description: "Signed out everywhere" }, ...guardedErrors(400) },
  }),
  async (c) => {
    const { services } = c.var;
    const admin = ownAdmin(c);
    const now = services.clock.now();
    // The epoch also ends tokens issued without a session.
    await services.db.batch([
      revokeSessionsOf(services.db, admin.id, now),
      endTokensOf(services.db, admin.id),
      auditStatement(services.db, actorOf(c), "admin.signed_out_everywhere", adminResource(admin), now),
    ]);
    return c.body(null, 204);
  },
);
