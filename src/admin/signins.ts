import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { clientIp } from "../gateway/failed-attempts";
import { ApiError } from "../http/errors";
import { getAdminByEmail, markSignedIn } from "../store/admin-repo";
import { adminResource, auditStatement } from "./audit-trail";
import { signedInAdmin } from "./auth";
import type { AdminEnv } from "./context";
import { bearerToken, invalidToken, looksLikeJwt } from "./credentials";
import { verifyNothing, verifyPassword } from "./passwords";
import { errors, json, jsonBody } from "./responses";
import { AccessToken, Signin } from "./schemas";
import { admitSigninAttempt } from "./signin-throttle";
import { assertTokensConfigured, issueToken, TOKEN_TTL_SECONDS } from "./tokens";
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
      'Password: `{"grant_type":"password","email","password"}`. Refresh: `{"grant_type":"refresh"}` with `Authorization: Bearer <current token>`, only while that token is valid. ' +
      "A wrong password and an unknown email both give 401 invalid_credentials. Attempts are limited per email and per client IP (429).",
    security: [],
    request: { body: jsonBody(Signin) },
    responses: { 200: json(AccessToken, "A bearer token for the admin API"), ...errors(400, 401, 429) },
  }),
  async (c) => {
    const body = c.req.valid("json");
    assertTokensConfigured(c.var.config);
    const admin = body.grant_type === "password" ? await passwordGrant(c, body.email, body.password) : await refreshGrant(c);
    const token = await issueToken(c.var.config, admin);
    return c.json({ access_token: token, token_type: "Bearer" as const, expires_in: TOKEN_TTL_SECONDS }, 200);
  },
);

/**
 * Known and unknown emails take the same path (a D1 read, the two attempt counters, one PBKDF2)
 * and get the same answer, so neither the reply nor its timing tells which emails are admins.
 */
async function passwordGrant(c: Context<AdminEnv>, email: string, password: string) {
  const admin = await getAdminByEmail(c.env.DB, email);
  await admitSigninAttempt(c.env, email, admin?.last_signin_at ?? null, clientIp(c.req.raw));
  const valid = admin ? await verifyPassword(password, admin) : await verifyNothing(password);
  if (!admin || !valid) throw new ApiError("invalid_credentials", "The email or password is not correct.");
  const now = Date.now();
  await c.env.DB.batch([
    markSignedIn(c.env.DB, admin.id, now),
    auditStatement(c.env.DB, { type: "admin", id: admin.id, requestId: c.var.requestId }, "admin.signed_in", adminResource(admin), now),
  ]);
  return admin;
}

/** Only an admin's own, still valid JWT can be exchanged: not the root token, not an API key. */
async function refreshGrant(c: Context<AdminEnv>) {
  const token = bearerToken(c.req.header("authorization"));
  if (!looksLikeJwt(token)) throw invalidToken();
  return signedInAdmin(c, token);
}
