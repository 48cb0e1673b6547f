import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { clientIp } from "../guards/throttle";
import { ApiError } from "../http/errors";
import { isLoopbackHost } from "../settings";
import { authenticationOptions, CHALLENGE_TTL_MS, relyingParty } from "../identity/passkeys";
import { checkPassword, hashPassword } from "../identity/passwords";
import { MAX_SESSION_SECONDS, sessionEnd, signInAgain } from "../identity/session-policy";
import { hashKey } from "../keys/hash";
import { getAdmin, updateAdmin, type AdminRow } from "../store/admin-repo";
import { getSessionBySecretHash, revokeSession, type SessionRow } from "../store/session-repo";
import { actorOf } from "./audit-trail";
import { adminResource, auditStatement } from "../store/audit-trail";
import type { MiddlewareHandler } from "hono";
import type { AdminEnv, Principal } from "./context";
import { invalidToken, sessionEnded } from "./credentials";
import { PasskeyOptions } from "./identity-schemas";
import { errors, guardedErrors, json, jsonBody } from "./responses";
import { AccessToken, Admin, PasswordChange, SessionSignin } from "./schemas";
import { attemptOf, callerOf, MFA_TOKEN_TTL_SECONDS, pendingSigninAdmin, passkeyStep, passwordStep, proofOf, secondFactorStep } from "./signin-flow";
import { tokenBody, tokenOf } from "./signins";
import { assertTokensConfigured } from "./tokens";
import { validationHook } from "./validation";
import { adminView } from "./views";

/**
 * Console sessions. The browser never holds a long-lived credential where script can read it:
 * the session's secret is an httpOnly, SameSite=Strict cookie (Secure except on loopback) sent
 * only to these routes, and the page keeps the 1-hour access token in memory. Every route that
 * a cookie authenticates refuses a request a page of another site could make (`assertSameSite`).
 */
export const sessionRoutes = new OpenAPIHono<AdminEnv>({ defaultHook: validationHook });

export const SESSIONS_PATH = "/sessions";
const COOKIE = "keygate_session";
const COOKIE_PATH = "/_keygate/v1/sessions";
/** Sent by the console with every cookie-authenticated call: a cross-site page cannot set it without a CORS preflight, which keygate never grants. */
export const CSRF_HEADER = "x-keygate-csrf";
/** The routes a cookie (not a bearer token) authenticates: app.ts lets them through without one. */
export const COOKIE_ROUTES = [SESSIONS_PATH, `${SESSIONS_PATH}/refresh`, `${SESSIONS_PATH}/current`, `${SESSIONS_PATH}/passkey-options`];

/**
 * CSRF defence for the cookie routes: the custom header must be there, and neither `Origin` nor
 * `Sec-Fetch-Site` may say the request came from another site. SameSite=Strict already keeps the
 * cookie off cross-site requests; this holds even where a browser ignores it.
 */
function assertSameSite(c: Context<AdminEnv>): void {
  const origin = c.req.header("origin");
  const site = c.req.header("sec-fetch-site");
  const sameOrigin = origin === undefined || origin === new URL(c.req.url).origin;
  const sameSite = site === undefined || site === "same-origin";
  if (c.req.header(CSRF_HEADER) !== "1" || !sameOrigin || !sameSite) {
    throw new ApiError("insufficient_permissions", "Cross-site request refused: console sessions only accept calls from the console's own page.", {
      reason: "cross_site",
    });
  }
}

/** The console session's cookie, set by a sign-in here or by the single sign-on callback. */
export function sessionCookie(c: Context<AdminEnv>, secret: string): void {
  setCookie(c, COOKIE, secret, {
    path: COOKIE_PATH,
    httpOnly: true,
    sameSite: "Strict",
    secure: !isLoopbackHost(new URL(c.req.url).hostname),
    maxAge: MAX_SESSION_SECONDS,
  });
}

/**
 * The live session the cookie names, and its admin still at the epoch of the sign-in. Opening the
 * console signed out is no guess, nor is a session that ended: only a cookie that names no session
 * at all counts as a failed authentication, like a wrong token.
 */
function cookieSession(c: Context<AdminEnv>): Promise<{ session: SessionRow; admin: AdminRow }> {
  const { services } = c.var;
  return services.throttle.guarded({ kind: "credential", ip: clientIp(c.req.raw.headers) }, async () => {
    const secret = getCookie(c, COOKIE);
    if (!secret) throw sessionEnded("no_session");
    const session = await getSessionBySecretHash(services.db, await hashKey(secret));
    if (!session) throw invalidToken(signInAgain("no_session"));
    const admin = await getAdmin(services.db, session.admin_id);
    const end = sessionEnd(session, admin, services.clock.now(), services.config);
    if (end !== null) throw sessionEnded(end, services.config);
    return { session, admin: admin! };
  });
}

sessionRoutes.openapi(
  createRoute({
    method: "post",
    path: SESSIONS_PATH,
    summary: "Sign in to the console",
    description:
      "The sign-in of `POST /signins`, for the console: `{email, password}`; when that answers 401 mfa_required, `{mfa_token, code}` or `{mfa_token, passkey}` " +
      `(within ${MFA_TOKEN_TTL_SECONDS / 60} minutes); or \`{passkey}\` alone, answering \`POST ${SESSIONS_PATH}/passkey-options\`. ` +
      "Also starts a session, set as an httpOnly, SameSite=Strict cookie " +
      `(\`Secure\` except on loopback) sent only to \`${COOKIE_PATH}\`. The session lasts ${MAX_SESSION_SECONDS / 3600} hours, and ends sooner when unused for SESSION_IDLE_MINUTES; its tokens carry its id. ` +
      `Needs \`${CSRF_HEADER}: 1\` and refuses (403) a request whose \`Origin\` or \`Sec-Fetch-Site\` names another site.`,
    security: [],
    request: { body: jsonBody(SessionSignin) },
    responses: { 200: json(AccessToken, "A bearer token of the new session"), ...errors(400, 401, 403, 429) },
  }),
  async (c) => {
    assertSameSite(c);
    const { services } = c.var;
    assertTokensConfigured(services.config);
    const body = c.req.valid("json");
    const caller = callerOf(c);
    const signedIn =
      "password" in body
        ? await passwordStep(services, caller, body.email, body.password, "console")
        : "mfa_token" in body
          ? await secondFactorStep(services, caller, body.mfa_token, proofOf(body), "console")
          : await passkeyStep(services, caller, body.passkey, "console");
    sessionCookie(c, signedIn.secret);
    return c.json(await tokenBody(services, tokenOf(signedIn)), 200);
  },
);

sessionRoutes.openapi(
  createRoute({
    method: "post",
    path: `${SESSIONS_PATH}/passkey-options`,
    summary: "Start a passkey sign-in",
    description:
      `A single-use challenge (${CHALLENGE_TTL_MS / 60_000} minutes) for navigator.credentials.get(), for any passkey registered on this keygate; answer it with \`POST /sessions {passkey}\`. ` +
      "With `{mfa_token}` (the second step of a sign-in), a challenge for that admin's passkeys; answer it with `POST /sessions {mfa_token, passkey}`. " +
      `Needs \`${CSRF_HEADER}: 1\`, like every session route.`,
    security: [],
    request: { body: jsonBody(z.strictObject({ mfa_token: z.string().min(1).max(128) }), false) },
    responses: { 200: json(PasskeyOptions, "Options for the browser"), ...errors(400, 401, 403) },
  }),
  async (c) => {
    assertSameSite(c);
    const { services } = c.var;
    const mfaToken = c.req.header("content-type") ? c.req.valid("json").mfa_token : undefined;
    const admin = mfaToken === undefined ? null : await pendingSigninAdmin(services, mfaToken);
    const options = await authenticationOptions(services, admin, relyingParty(c.req.url), admin ? "mfa" : "signin");
    return c.json({ object: "passkey_options" as const, options: options as unknown as Record<string, unknown> }, 200);
  },
);

sessionRoutes.openapi(
  createRoute({
    method: "post",
    path: `${SESSIONS_PATH}/refresh`,
    summary: "A new access token for the console's session",
    description: `Authenticated by the session cookie alone, with \`${CSRF_HEADER}: 1\` and nothing naming another site. Refused (401, \`details.reason\`) once the session is signed out, after a password change, when it was unused for SESSION_IDLE_MINUTES (\`idle\`), and ${MAX_SESSION_SECONDS / 3600} hours after the sign-in (\`too_old\`). A refresh is not a use: a page left open still ends when idle.`,
    security: [],
    responses: { 200: json(AccessToken, "A bearer token of the same session"), ...errors(401, 403, 429) },
  }),
  async (c) => {
    assertSameSite(c);
    const { services } = c.var;
    const { session, admin } = await cookieSession(c);
    return c.json(await tokenBody(services, tokenOf({ admin, session })), 200);
  },
);

sessionRoutes.openapi(
  createRoute({
    method: "delete",
    path: `${SESSIONS_PATH}/current`,
    summary: "Sign out of the console",
    description: "Ends the cookie's session: the cookie and every access token of the session are refused from now on. Without a session it changes nothing (204).",
    security: [],
    responses: { 204: { description: "Signed out" }, ...errors(403) },
  }),
  async (c) => {
    assertSameSite(c);
    const secret = getCookie(c, COOKIE);
    const { services } = c.var;
    const session = secret ? await getSessionBySecretHash(services.db, await hashKey(secret)) : null;
    if (session) {
      const now = services.clock.now();
      const self = { type: "admin" as const, id: session.admin_id, requestId: c.var.requestId };
      await services.db.batch([
        revokeSession(services.db, session.id, now),
        auditStatement(services.db, self, "admin.signed_out", adminResource({ id: session.admin_id }), now, { session_id: session.id }, { ifChanged: true }),
      ]);
    }
    deleteCookie(c, COOKIE, { path: COOKIE_PATH, secure: !isLoopbackHost(new URL(c.req.url).hostname), httpOnly: true, sameSite: "Strict" });
    return c.body(null, 204);
  },
);

/**
 * Before input validation, like permit(): the root token and API keys have no account (password,
 * second factors, sessions) here.
 */
export const signedInAdmin: MiddlewareHandler<AdminEnv> = async (c, next) => {
  if (c.var.principal.kind !== "admin") throw new ApiError("insufficient_permissions", "Only a signed-in admin has an account: the root token and API keys have none.");
  await next();
};

/** The signed-in admin of a route behind signedInAdmin. */
export function accountOf(c: Context<AdminEnv>): Extract<Principal, { kind: "admin" }> {
  return c.var.principal as Extract<Principal, { kind: "admin" }>;
}

/** Their admin row, as checking the token read it in this request (auth.ts): not read again. */
export function ownAdmin(c: Context<AdminEnv>): AdminRow {
  return accountOf(c).row;
}

sessionRoutes.openapi(
  createRoute({
    method: "post",
    path: "/account/password",
    summary: "Change your own password",
    description:
      "Any signed-in admin, for their own account, with the current password. Like every password change it ends all the admin's tokens and sessions: sign in again. " +
      "The current password is checked as a sign-in's is: the same attempt limits per email and per client address (429), and a wrong one is recorded in the audit trail as `signin.failed`.",
    middleware: [signedInAdmin],
    request: { body: jsonBody(PasswordChange) },
    responses: { 200: json(Admin, "Your account"), ...guardedErrors(400) },
  }),
  async (c) => {
    const { current_password, new_password } = c.req.valid("json");
    const { services } = c.var;
    const current = ownAdmin(c);
    if (!(await checkPassword(services, attemptOf(current, callerOf(c), "password_change"), current_password))) {
      throw new ApiError("invalid_request", "The current password is not correct.", { fields: [{ field: "current_password", message: "is not correct" }] });
    }
    const now = services.clock.now();
    const [updated] = await services.db.batch<AdminRow>([
      updateAdmin(services.db, current.id, { password: await hashPassword(new_password) }, now),
      auditStatement(services.db, actorOf(c), "admin.updated", adminResource(current), now, { password_changed: true }),
    ]);
    return c.json(adminView(updated!.results[0]!), 200);
  },
);
