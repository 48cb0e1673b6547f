import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { SsoConfig } from "../config";
import { clientIp, TooManyAttempts } from "../guards/throttle";
import { ApiError, RejectedCredential } from "../http/errors";
import { recordFailure } from "../identity/attempts";
import { NO_PASSWORD } from "../identity/passwords";
import { beginSso, finishSso, providerAssertsMfa, SSO_STATE_TTL_MS, SsoRefused, type SsoFailure } from "../identity/sso";
import { prefixedId } from "../keys/random";
import type { Services } from "../services";
import { isLoopbackHost } from "../settings";
import { getAdminByEmail, insertAdmin, type AdminRow } from "../store/admin-repo";
import { adminResource, auditStatement } from "../store/audit-trail";
import { isUniqueViolation } from "../store/errors";
import { CONSOLE_PATH } from "./console";
import type { AdminEnv } from "./context";
import { errors } from "./responses";
import { sessionCookie } from "./sessions";
import { callerOf, continueSignin, type Caller } from "./signin-flow";
import { validationHook } from "./validation";

/**
 * Single sign-on's two routes, on keygate's own origin (the console's): the start, which sends
 * the browser to the provider, and the callback the provider sends it back to. Register
 * `https://<keygate>/_keygate/v1/sso/callback` with the provider. A finished sign-in is a console
 * session, exactly like a password one; the browser then goes to `return_to`, which is only ever a
 * console page on this origin.
 */
export const ssoRoutes = new OpenAPIHono<AdminEnv>({ defaultHook: validationHook });
export const SSO_START_PATH = "/sso/start";
export const SSO_CALLBACK_PATH = "/sso/callback";
const BINDING_COOKIE = "keygate_sso";
const BINDING_COOKIE_PATH = "/_keygate/v1/sso";

/**
 * Where to go after signing in: a console page of this origin, or refused. Only the console's own
 * path (with its #fragment or query) is accepted, so the callback can never send anyone elsewhere.
 */
export function consoleReturnTo(raw: string | undefined, origin: string): string | null {
  if (raw === undefined || raw === "") return CONSOLE_PATH;
  if (!raw.startsWith("/") || raw.startsWith("//") || /[\\\u0000-\u001f]/.test(raw)) return null;
  let url: URL;
  try {
    url = new URL(raw, origin);
  } catch {
    return null;
  }
  if (url.origin !== origin || url.pathname !== CONSOLE_PATH) return null;
  return `${url.pathname}${url.search}${url.hash}`;
}

function configured(c: Context<AdminEnv>): SsoConfig {
  const { sso } = c.var.services.config;
  if (!sso) throw new ApiError("not_found", "Single sign-on is not set up on this keygate (OIDC_ISSUER).");
  return sso;
}

const redirectUri = (c: Context<AdminEnv>) => `${new URL(c.req.url).origin}/_keygate/v1${SSO_CALLBACK_PATH}`;
const secureCookie = (c: Context<AdminEnv>) => !isLoopbackHost(new URL(c.req.url).hostname);

ssoRoutes.openapi(
  createRoute({
    method: "get",
    path: SSO_START_PATH,
    summary: "Sign in with single sign-on",
    description:
      "Sends the browser to the OpenID Connect provider (a 302), with PKCE, state and nonce; the provider sends it back to `/_keygate/v1/sso/callback`, which starts a console session and goes on to `return_to`. " +
      "`return_to` must be a console page of this origin (`/_keygate/console…`); anything else is refused (400). 404 when single sign-on is not set up.",
    security: [],
    request: { query: z.strictObject({ return_to: z.string().max(2048).optional() }) },
    responses: { 302: { description: "To the provider" }, ...errors(400, 404) },
  }),
  async (c) => {
    const sso = configured(c);
    const origin = new URL(c.req.url).origin;
    const returnTo = consoleReturnTo(c.req.valid("query").return_to, origin);
    if (returnTo === null) {
      throw new ApiError("invalid_request", "return_to must be a console page of this keygate.", { fields: [{ field: "return_to", message: `must start with ${CONSOLE_PATH}` }] });
    }
    let started: { location: string; binding: string };
    try {
      started = await beginSso(c.var.services, sso, redirectUri(c), returnTo);
    } catch (error) {
      if (error instanceof SsoRefused) return c.redirect(failurePage(error.reason), 302);
      throw error;
    }
    // Lax, not Strict: the provider's redirect back is a cross-site navigation, which must carry it.
    setCookie(c, BINDING_COOKIE, started.binding, {
      path: BINDING_COOKIE_PATH,
      httpOnly: true,
      sameSite: "Lax",
      secure: secureCookie(c),
      maxAge: SSO_STATE_TTL_MS / 1000,
    });
    return c.redirect(started.location, 302);
  },
);

ssoRoutes.openapi(
  createRoute({
    method: "get",
    path: SSO_CALLBACK_PATH,
    summary: "Where the provider sends the browser back",
    description:
      "Register this URL with the provider. Finishes the sign-in started by `/sso/start` in the same browser (its state is used once), then redirects to the console: " +
      "signed in, or asked for a second factor (`#mfa_token=…`), or told why not (`#sso_error=<reason>`).",
    security: [],
    request: {
      query: z.object({ state: z.string().max(512).optional(), code: z.string().max(4096).optional(), error: z.string().max(256).optional(), iss: z.string().max(2048).optional() }),
    },
    responses: { 302: { description: "To the console" }, ...errors() },
  }),
  async (c) => {
    const sso = configured(c);
    const { services } = c.var;
    const query = c.req.valid("query");
    const binding = getCookie(c, BINDING_COOKIE);
    deleteCookie(c, BINDING_COOKIE, { path: BINDING_COOKIE_PATH, httpOnly: true, sameSite: "Lax", secure: secureCookie(c) });
    c.header("referrer-policy", "no-referrer");
    const caller = callerOf(c);
    let target: string;
    try {
      const identity = await services.throttle.guarded({ kind: "credential", ip: clientIp(caller.headers) }, async () => {
        try {
          return await finishSso(services, sso, query, binding);
        } catch (error) {
          // A forged or replayed callback counts against the client like a wrong token.
          if (error instanceof SsoRefused && (error.reason === "state" || error.reason === "token")) throw new ForgedCallback(error);
          throw error;
        }
      });
      const admin = await adminFor(services, sso, identity.email, caller);
      const multiFactor = sso.trustProviderMfa && providerAssertsMfa(identity.amr);
      try {
        const signedIn = await continueSignin(services, caller, { admin, methods: ["sso", ...(multiFactor ? ["mfa"] : [])], multiFactor }, "console");
        sessionCookie(c, signedIn.secret);
        target = identity.returnTo;
      } catch (error) {
        if (!(error instanceof ApiError && error.code === "mfa_required")) throw error;
        const details = error.details as { mfa_token: string; methods: string[] };
        target = `${CONSOLE_PATH}#${new URLSearchParams({ mfa_token: details.mfa_token, methods: details.methods.join(","), return_to: identity.returnTo })}`;
      }
    } catch (error) {
      const reason = reasonOf(error);
      if (reason === null) throw error;
      const email = error instanceof SsoRefused ? error.email : null;
      await recordFailure(services, { email, admin: null, client: caller, check: "sign_in" }, "sso", "signin.failed", { reason });
      target = failurePage(reason);
    }
    return c.redirect(target, 302);
  },
);

/** A callback whose state or ID token does not hold: counted against the client (throttle.ts) like a wrong token. */
class ForgedCallback extends RejectedCredential {
  constructor(readonly refusal: SsoRefused) {
    super("invalid_token", `single sign-on refused: ${refusal.reason}`);
  }
}

function reasonOf(error: unknown): SsoFailure | "too_many_attempts" | null {
  if (error instanceof SsoRefused) return error.reason;
  if (error instanceof ForgedCallback) return error.refusal.reason;
  if (error instanceof TooManyAttempts) return "too_many_attempts";
  return null;
}

function failurePage(reason: SsoFailure | "too_many_attempts"): string {
  return `${CONSOLE_PATH}#${new URLSearchParams({ sso_error: reason })}`;
}

/**
 * The admin a verified email belongs to. An unknown email becomes an admin only from an allowed
 * domain and with a default role set; such an admin has no password (single sign-on, passkeys).
 */
async function adminFor(services: Services, sso: SsoConfig, email: string, caller: Caller): Promise<AdminRow> {
  const existing = await getAdminByEmail(services.db, email);
  if (existing) return existing;
  const domain = email.slice(email.lastIndexOf("@") + 1);
  if (!sso.defaultRole || !sso.allowedDomains.includes(domain)) throw new SsoRefused("not_allowed", email);
  const now = services.clock.now();
  const row: AdminRow = {
    id: prefixedId("adm"),
    email,
    role: sso.defaultRole,
    ...NO_PASSWORD,
    created_at: now,
    updated_at: now,
    last_signin_at: null,
    session_epoch: 0,
  };
  try {
    await services.db.batch([
      insertAdmin(services.db, row),
      auditStatement(services.db, { type: "admin", id: row.id, requestId: caller.requestId }, "admin.created", adminResource(row), now, { email, role: row.role, via: "sso" }),
    ]);
  } catch (error) {
    // Two first sign-ins at once: the unique email index decides, and both use the one admin.
    const raced = isUniqueViolation(error) ? await getAdminByEmail(services.db, email) : null;
    if (!raced) throw error;
    return raced;
  }
  return row;
}
