import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { clientIp } from "../guards/throttle";
import { ApiError } from "../http/errors";
import { checkPassword, hashPassword } from "../identity/passwords";
import { MAX_SESSION_SECONDS, sessionEnd, signInAgain, startSession } from "../identity/session-policy";
import { hashKey } from "../keys/hash";
import { randomBase62 } from "../keys/random";
import { getAdmin, updateAdmin, type AdminRow } from "../store/admin-repo";
import { getSessionBySecretHash, insertSession, revokeSession, type SessionRow } from "../store/session-repo";
import { actorOf, adminResource, auditStatement } from "./audit-trail";
import type { MiddlewareHandler } from "hono";
import type { AdminEnv, Principal } from "./context";
import { invalidToken, sessionEnded } from "./credentials";
import { errors, guardedErrors, json, jsonBody } from "./responses";
import { AccessToken, Admin, PasswordChange, SessionSignin } from "./schemas";
import { passwordGrant } from "./signins";
import { assertTokensConfigured, issueToken, TOKEN_TTL_SECONDS } from "./tokens";
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
export const COOKIE_ROUTES = [SESSIONS_PATH, `${SESSIONS_PATH}/refresh`, `${SESSIONS_PATH}/current`];

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

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

function sessionCookie(c: Context<AdminEnv>, secret: string): void {
  setCookie(c, COOKIE, secret, {
    path: COOKIE_PATH,
    httpOnly: true,
    sameSite: "Strict",
    secure: !LOOPBACK.has(new URL(c.req.url).hostname),
    maxAge: MAX_SESSION_SECONDS,
  });
}

function tokenResponse(c: Context<AdminEnv>, token: string) {
  return c.json({ access_token: token, token_type: "Bearer" as const, expires_in: TOKEN_TTL_SECONDS }, 200);
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
    const end = sessionEnd(session, admin, services.clock.now());
    if (end !== null) throw sessionEnded(end);
    return { session, admin: admin! };
  });
}

sessionRoutes.openapi(
  createRoute({
    method: "post",
    path: SESSIONS_PATH,
    summary: "Sign in to the console",
    description:
      "The password grant of `POST /signins`, for the console: also starts a session, set as an httpOnly, SameSite=Strict cookie " +
      `(\`Secure\` except on loopback) sent only to \`${COOKIE_PATH}\`. The session lasts ${MAX_SESSION_SECONDS / 3600} hours; its tokens carry its id. ` +
      `Needs \`${CSRF_HEADER}: 1\` and refuses (403) a request whose \`Origin\` or \`Sec-Fetch-Site\` names another site.`,
    security: [],
    request: { body: jsonBody(SessionSignin) },
    responses: { 200: json(AccessToken, "A bearer token of the new session"), ...errors(400, 401, 403, 429) },
  }),
  async (c) => {
    assertSameSite(c);
    const { services } = c.var;
    assertTokensConfigured(services.config);
    const { email, password } = c.req.valid("json");
    const { admin, authTime } = await passwordGrant(services, { headers: c.req.raw.headers, requestId: c.var.requestId }, email, password);
    const secret = randomBase62(43);
    const session = startSession(admin, await hashKey(secret), services.clock.now());
    await insertSession(services.db, session).run();
    sessionCookie(c, secret);
    return tokenResponse(c, await issueToken(services, admin, authTime, session.id));
  },
);

sessionRoutes.openapi(
  createRoute({
    method: "post",
    path: `${SESSIONS_PATH}/refresh`,
    summary: "A new access token for the console's session",
    description: `Authenticated by the session cookie alone, with \`${CSRF_HEADER}: 1\` and nothing naming another site. Refused (401) once the session is signed out, after a password change, and ${MAX_SESSION_SECONDS / 3600} hours after the sign-in.`,
    security: [],
    responses: { 200: json(AccessToken, "A bearer token of the same session"), ...errors(401, 403, 429) },
  }),
  async (c) => {
    assertSameSite(c);
    const { services } = c.var;
    const { session, admin } = await cookieSession(c);
    return tokenResponse(c, await issueToken(services, admin, Math.floor(session.created_at / 1000), session.id));
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
    if (session) await revokeSession(services.db, session.id, services.clock.now()).run();
    deleteCookie(c, COOKIE, { path: COOKIE_PATH, secure: !LOOPBACK.has(new URL(c.req.url).hostname), httpOnly: true, sameSite: "Strict" });
    return c.body(null, 204);
  },
);

/** Before input validation, like permit(): the root token and API keys have no password here. */
const signedInAdmin: MiddlewareHandler<AdminEnv> = async (c, next) => {
  if (c.var.principal.kind !== "admin") throw new ApiError("insufficient_permissions", "Only a signed-in admin has a password to change.");
  await next();
};

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
    const principal = c.var.principal as Extract<Principal, { kind: "admin" }>;
    const { current_password, new_password } = c.req.valid("json");
    const { services } = c.var;
    const current = await getAdmin(services.db, principal.id);
    if (!current) throw invalidToken();
    const client = { headers: c.req.raw.headers, requestId: c.var.requestId };
    if (!(await checkPassword(services, { email: current.email, admin: current, client, check: "password_change" }, current_password))) {
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
