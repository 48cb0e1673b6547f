import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { clientIp } from "../guards/throttle";
import { ApiError } from "../http/errors";
import { checkPassword } from "../identity/passwords";
import { MAX_SESSION_SECONDS, signinTooOld } from "../identity/session-policy";
import type { Services } from "../services";
import { getAdminByEmail, markSignedIn } from "../store/admin-repo";
import { adminResource, auditStatement } from "./audit-trail";
import { verifyAdminToken } from "./auth";
import type { AdminEnv } from "./context";
import { bearerToken, invalidToken, looksLikeJwt, sessionEnded } from "./credentials";
import { errors, json, jsonBody } from "./responses";
import { AccessToken, Signin } from "./schemas";
import { assertTokensConfigured, issueToken, TOKEN_TTL_SECONDS, type TokenSubject } from "./tokens";
import { validationHook } from "./validation";

/** The one route that needs no credential: it is where an admin gets one. */
export const signinRoutes = new OpenAPIHono<AdminEnv>({ defaultHook: validationHook });
export const SIGNINS_PATH = "/signins";

signinRoutes.openapi(
  createRoute({
    method: "post",
    path: SIGNINS_PATH,
    summary: "Sign in (or refresh) for a 1-hour admin JWT",
    description:
      'Password: `{"grant_type":"password","email","password"}`. Refresh: `{"grant_type":"refresh"}` with `Authorization: Bearer <current token>`, ' +
      `only while that token is valid, and at most ${MAX_SESSION_SECONDS / 3600} hours after the password was given (then sign in again). ` +
      "A password change ends every token issued before it. " +
      "A wrong password and an unknown email both give 401 invalid_credentials. Attempts are limited per email and per client IP (429).",
    security: [],
    request: { body: jsonBody(Signin) },
    responses: { 200: json(AccessToken, "A bearer token for the admin API"), ...errors(400, 401, 429) },
  }),
  async (c) => {
    const body = c.req.valid("json");
    assertTokensConfigured(c.var.services.config);
    const caller: Caller = { headers: c.req.raw.headers, requestId: c.var.requestId };
    const { services } = c.var;
    const { admin, authTime, sessionId } =
      body.grant_type === "password" ? await passwordGrant(services, caller, body.email, body.password) : await refreshGrant(services, caller);
    const token = await issueToken(services, admin, authTime, sessionId);
    return c.json({ access_token: token, token_type: "Bearer" as const, expires_in: TOKEN_TTL_SECONDS }, 200);
  },
);

/**
 * The password is checked by the one password check (identity/passwords.ts), which throttles it
 * and records a failure in the audit trail; a wrong password and an unknown email get the same
 * answer. A success moves the admin's last sign-in on, which starts a fresh per-email count.
 */
export async function passwordGrant(services: Services, caller: Caller, email: string, password: string): Promise<Grant> {
  const { db } = services;
  const admin = await getAdminByEmail(db, email);
  const valid = await checkPassword(services, { email, admin, client: caller, check: "sign_in" }, password);
  if (!valid || !admin) {
    throw new ApiError("invalid_credentials", "The email or password is not correct.");
  }
  const now = services.clock.now();
  await db.batch([
    markSignedIn(db, admin.id, now),
    auditStatement(db, { type: "admin", id: admin.id, requestId: caller.requestId }, "admin.signed_in", adminResource(admin), now),
  ]);
  return { admin, authTime: Math.floor(now / 1000) };
}

/** What a sign-in knows of the request it came in: the client's headers and the request's id. */
export interface Caller {
  headers: Headers;
  requestId: string;
}

/** Who the new token is for, and when they last gave their password. */
interface Grant {
  admin: TokenSubject;
  authTime: number;
  /** A console session's token stays in its session when refreshed here. */
  sessionId?: string;
}

/**
 * Only an admin's own, still valid JWT of the current session epoch can be exchanged: not the root
 * token, not an API key. The new token keeps the sign-in time of the old one, so refreshing keeps
 * a session alive for at most MAX_SESSION_SECONDS after the password was given; a stolen token
 * cannot be refreshed forever (session-policy.ts). Bad tokens count as failed authentications of the client.
 */
async function refreshGrant(services: Services, caller: Caller): Promise<Grant> {
  return services.throttle.guarded({ kind: "credential", ip: clientIp(caller.headers) }, async () => {
    const token = bearerToken(caller.headers.get("authorization") ?? undefined);
    if (!looksLikeJwt(token)) throw invalidToken();
    const { admin, claims } = await verifyAdminToken(services, token);
    if (signinTooOld(claims.auth_time, services.clock.now())) throw sessionEnded("too_old");
    return { admin, authTime: claims.auth_time, sessionId: claims.sid };
  });
}
