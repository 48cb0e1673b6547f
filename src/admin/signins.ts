import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { clientIp } from "../guards/failed-attempts";
import { clientAddress } from "../http/client-address";
import { ApiError } from "../http/errors";
import type { Services } from "../services";
import { getAdminByEmail, markSignedIn } from "../store/admin-repo";
import { adminResource, auditStatement, signinResource } from "./audit-trail";
import { countingFailures, verifyAdminToken } from "./auth";
import type { AdminEnv } from "./context";
import { bearerToken, invalidToken, looksLikeJwt } from "./credentials";
import { verifyNothing, verifyPassword } from "./passwords";
import { errors, json, jsonBody } from "./responses";
import { AccessToken, Signin } from "./schemas";
import { admitSigninAttempt, tooManySignins } from "../guards/signin-throttle";
import { assertTokensConfigured, issueToken, MAX_SESSION_SECONDS, TOKEN_TTL_SECONDS, type TokenSubject } from "./tokens";
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
    const token = await issueToken(c.var.services.config, admin, authTime, sessionId);
    return c.json({ access_token: token, token_type: "Bearer" as const, expires_in: TOKEN_TTL_SECONDS }, 200);
  },
);

/**
 * Known and unknown emails take the same path (a D1 read, the two attempt counters, one PBKDF2, an
 * audit write when it fails) and get the same answer, so neither the reply nor its timing tells
 * which emails are admins. Failures are recorded (`signin.failed`, one reason for a wrong
 * password and an unknown email alike) and so is the start of each throttling block
 * (`signin.throttled`), with the client's address as the actor, so password spraying shows up
 * in the audit trail.
 */
export async function passwordGrant(services: Services, caller: Caller, email: string, password: string): Promise<Grant> {
  const { db } = services;
  const admin = await getAdminByEmail(db, email);
  const refusal = await admitSigninAttempt(services.guards, email, admin?.last_signin_at ?? null, clientIp(caller.headers));
  if (refusal) {
    if (refusal.firstRefusal) await recordFailedSignin(services, caller, "signin.throttled", email, { reason: "too_many_attempts", limits: refusal.limits, retry_after_seconds: refusal.retryAfterSeconds });
    throw tooManySignins(refusal);
  }
  const valid = admin ? await verifyPassword(password, admin) : await verifyNothing(password);
  if (!admin || !valid) {
    await recordFailedSignin(services, caller, "signin.failed", email, { reason: "invalid_credentials" });
    throw new ApiError("invalid_credentials", "The email or password is not correct.");
  }
  const now = services.clock.now();
  await db.batch([
    markSignedIn(db, admin.id, now),
    auditStatement(db, { type: "admin", id: admin.id, requestId: caller.requestId }, "admin.signed_in", adminResource(admin), now),
  ]);
  return { admin, authTime: Math.floor(now / 1000) };
}

/** An audit event for a sign-in that did not happen: the client's address acts, on the email it tried. */
async function recordFailedSignin(services: Services, caller: Caller, action: string, email: string, details: Record<string, unknown>): Promise<void> {
  const ip = clientAddress(caller.headers) ?? "unknown";
  const actor = { type: "client" as const, id: ip, requestId: caller.requestId };
  await auditStatement(services.db, actor, action, signinResource(email), services.clock.now(), { email, ip, ...details }).run();
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
 * cannot be refreshed forever. Bad tokens count as failed authentications of the client.
 */
async function refreshGrant(services: Services, caller: Caller): Promise<Grant> {
  const ip = clientIp(caller.headers);
  services.failedAttempts.assertNotBlocked(ip);
  return countingFailures(services, ip, async () => {
    const token = bearerToken(caller.headers.get("authorization") ?? undefined);
    if (!looksLikeJwt(token)) throw invalidToken();
    const { admin, claims } = await verifyAdminToken(services, token);
    if (services.clock.now() / 1000 - claims.auth_time > MAX_SESSION_SECONDS) {
      throw invalidToken(`The sign-in is more than ${MAX_SESSION_SECONDS / 3600} hours old: sign in with the password again.`);
    }
    return { admin, authTime: claims.auth_time, sessionId: claims.sid };
  });
}
