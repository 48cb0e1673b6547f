import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { clientIp } from "../guards/throttle";
import { MAX_SESSION_SECONDS, signinTooOld } from "../identity/session-policy";
import type { Services } from "../services";
import { verifyAdminToken } from "./auth";
import type { AdminEnv } from "./context";
import { bearerToken, invalidToken, looksLikeJwt, sessionEnded } from "./credentials";
import { errors, json, jsonBody } from "./responses";
import { AccessToken, Signin } from "./schemas";
import { callerOf, MFA_TOKEN_TTL_SECONDS, passwordStep, proofOf, secondFactorStep, type Caller, type SignedIn } from "./signin-flow";
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
      'Password: `{"grant_type":"password","email","password"}`. An admin with a second factor is answered `401 mfa_required` with ' +
      `\`details.mfa_token\` (single-use, ${MFA_TOKEN_TTL_SECONDS / 60} minutes), \`details.methods\` and, with passkeys, \`details.passkey_options\`; ` +
      'complete with `{"grant_type":"mfa","mfa_token","code"}` (a code from the authenticator app, or a recovery code) or `{"grant_type":"mfa","mfa_token","passkey"}`. ' +
      'Refresh: `{"grant_type":"refresh"}` with `Authorization: Bearer <current token>`, ' +
      `only while that token is valid, and at most ${MAX_SESSION_SECONDS / 3600} hours after the sign-in (then sign in again). ` +
      "Every sign-in is a session (`GET /account/sessions`); a password change ends every token issued before it. " +
      "A wrong password and an unknown email both give 401 invalid_credentials; password sign-in turned off gives 403 password_signin_disabled. " +
      "Attempts (passwords and codes alike) are limited per email and per client IP (429).",
    security: [],
    request: { body: jsonBody(Signin) },
    responses: { 200: json(AccessToken, "A bearer token for the admin API"), ...errors(400, 401, 403, 429) },
  }),
  async (c) => {
    const body = c.req.valid("json");
    const { services } = c.var;
    assertTokensConfigured(services.config);
    const caller = callerOf(c);
    const grant =
      body.grant_type === "password"
        ? tokenOf(await passwordStep(services, caller, body.email, body.password, "api"))
        : body.grant_type === "mfa"
          ? tokenOf(await secondFactorStep(services, caller, body.mfa_token, proofOf(body), "api"))
          : await refreshGrant(services, caller);
    return c.json(await tokenBody(services, grant), 200);
  },
);

/** Who a new token is for, of which sign-in (Unix seconds) and session. */
export interface Grant {
  admin: TokenSubject;
  authTime: number;
  sessionId?: string;
  enrolmentOnly?: boolean;
}

export function tokenOf(signedIn: Pick<SignedIn, "admin" | "session">): Grant {
  const { admin, session } = signedIn;
  return { admin, authTime: Math.floor(session.created_at / 1000), sessionId: session.id, enrolmentOnly: session.enrolment_only === 1 };
}

/** The token response; `enrolment_required` when the session may only enrol a second factor. */
export async function tokenBody(services: Services, grant: Grant) {
  const token = await issueToken(services.config, grant.admin, grant.authTime, services.clock.now(), grant.sessionId);
  return {
    access_token: token,
    token_type: "Bearer" as const,
    expires_in: TOKEN_TTL_SECONDS,
    ...(grant.enrolmentOnly ? { enrolment_required: true as const } : {}),
  };
}

/**
 * Only an admin's own, still valid JWT of the current session epoch can be exchanged: not the root
 * token, not an API key. The new token keeps the sign-in time of the old one, so refreshing keeps
 * a session alive for at most MAX_SESSION_SECONDS after the sign-in; a stolen token cannot be
 * refreshed forever (session-policy.ts). Bad tokens count as failed authentications of the client.
 */
async function refreshGrant(services: Services, caller: Caller): Promise<Grant> {
  return services.throttle.guarded({ kind: "credential", ip: clientIp(caller.headers) }, async () => {
    const token = bearerToken(caller.headers.get("authorization") ?? undefined);
    if (!looksLikeJwt(token)) throw invalidToken();
    const { admin, claims, session } = await verifyAdminToken(services, token);
    if (signinTooOld(claims.auth_time, services.clock.now())) throw sessionEnded("too_old");
    return { admin, authTime: claims.auth_time, sessionId: claims.sid, enrolmentOnly: session?.enrolment_only === 1 };
  });
}
