import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { assertNotBlocked, clientIp } from "../gateway/failed-attempts";
import { clientAddress } from "../http/client-address";
import { ApiError } from "../http/errors";
import { getAdminByEmail, markSignedIn } from "../store/admin-repo";
import { adminResource, auditStatement, signinResource } from "./audit-trail";
import { countingFailures, verifyAdminToken } from "./auth";
import type { AdminEnv } from "./context";
import { bearerToken, invalidToken, looksLikeJwt } from "./credentials";
import { verifyNothing, verifyPassword } from "./passwords";
import { errors, json, jsonBody } from "./responses";
import { AccessToken, Signin } from "./schemas";
import { admitSigninAttempt, tooManySignins } from "./signin-throttle";
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
    assertTokensConfigured(c.var.config);
    const { admin, authTime } = body.grant_type === "password" ? await passwordGrant(c, body.email, body.password) : await refreshGrant(c);
    const token = await issueToken(c.var.config, admin, authTime);
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
async function passwordGrant(c: Context<AdminEnv>, email: string, password: string): Promise<Grant> {
  const admin = await getAdminByEmail(c.env.DB, email);
  const refusal = await admitSigninAttempt(c.env, email, admin?.last_signin_at ?? null, clientIp(c.req.raw));
  if (refusal) {
    if (refusal.firstRefusal) await recordFailedSignin(c, "signin.throttled", email, { reason: "too_many_attempts", limits: refusal.limits, retry_after_seconds: refusal.retryAfterSeconds });
    throw tooManySignins(refusal);
  }
  const valid = admin ? await verifyPassword(password, admin) : await verifyNothing(password);
  if (!admin || !valid) {
    await recordFailedSignin(c, "signin.failed", email, { reason: "invalid_credentials" });
    throw new ApiError("invalid_credentials", "The email or password is not correct.");
  }
  const now = Date.now();
  await c.env.DB.batch([
    markSignedIn(c.env.DB, admin.id, now),
    auditStatement(c.env.DB, { type: "admin", id: admin.id, requestId: c.var.requestId }, "admin.signed_in", adminResource(admin), now),
  ]);
  return { admin, authTime: Math.floor(now / 1000) };
}

/** An audit event for a sign-in that did not happen: the client's address acts, on the email it tried. */
async function recordFailedSignin(c: Context<AdminEnv>, action: string, email: string, details: Record<string, unknown>): Promise<void> {
  const ip = clientAddress(c.req.raw.headers) ?? "unknown";
  await auditStatement(c.env.DB, { type: "client", id: ip, requestId: c.var.requestId }, action, signinResource(email), Date.now(), { email, ip, ...details }).run();
}

/** Who the new token is for, and when they last gave their password. */
interface Grant {
  admin: TokenSubject;
  authTime: number;
}

/**
 * Only an admin's own, still valid JWT of the current session epoch can be exchanged: not the root
 * token, not an API key. The new token keeps the sign-in time of the old one, so refreshing keeps
 * a session alive for at most MAX_SESSION_SECONDS after the password was given; a stolen token
 * cannot be refreshed forever. Bad tokens count as failed authentications of the client.
 */
async function refreshGrant(c: Context<AdminEnv>): Promise<Grant> {
  const ip = clientIp(c.req.raw);
  assertNotBlocked(ip);
  return countingFailures(c, ip, async () => {
    const token = bearerToken(c.req.header("authorization"));
    if (!looksLikeJwt(token)) throw invalidToken();
    const { admin, claims } = await verifyAdminToken(c, token);
    if (Date.now() / 1000 - claims.auth_time > MAX_SESSION_SECONDS) {
      throw invalidToken(`The sign-in is more than ${MAX_SESSION_SECONDS / 3600} hours old: sign in with the password again.`);
    }
    return { admin, authTime: claims.auth_time };
  });
}
