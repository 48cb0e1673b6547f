import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { STEP_UP_SECONDS } from "../identity/session-policy";
import { signinSettings, storeSigninSettings, type SigninSettings } from "../identity/signin-settings";
import { actorOf } from "./audit-trail";
import { auditStatement, type Resource } from "../store/audit-trail";
import type { AdminEnv } from "./context";
import { SigninMethods, SigninSettingsUpdate, SigninSettingsView } from "./identity-schemas";
import { permit } from "./permissions";
import { errors, guardedErrors, json, jsonBody } from "./responses";
import { SSO_START_PATH } from "./sso";
import { stepUp } from "./step-up";
import { validationHook } from "./validation";

/**
 * How admins sign in: owners turn password sign-in off (single sign-on and passkeys remain; the
 * root ADMIN_TOKEN always works) or require a second factor of every admin. Stored settings rather
 * than bindings, so the change is an owner's audited decision made with a fresh authentication,
 * not a redeploy. The sign-in page reads which ways are open from GET /signin-methods.
 */
export const signinSettingsRoutes = new OpenAPIHono<AdminEnv>({ defaultHook: validationHook });
export const SIGNIN_METHODS_PATH = "/signin-methods";

const SETTINGS_RESOURCE: Resource = { type: "settings", id: "signin", tenantId: null };

function settingsView(settings: SigninSettings) {
  return { object: "signin_settings" as const, password_signin: settings.passwordSignin, second_factor_required: settings.secondFactorRequired };
}

signinSettingsRoutes.openapi(
  createRoute({
    method: "get",
    path: "/settings/signin",
    summary: "How admins may sign in",
    middleware: [permit("admins")],
    responses: { 200: json(SigninSettingsView, "The sign-in settings"), ...guardedErrors(400) },
  }),
  async (c) => c.json(settingsView(await signinSettings(c.var.services.db)), 200),
);

signinSettingsRoutes.openapi(
  createRoute({
    method: "patch",
    path: "/settings/signin",
    summary: "Change how admins may sign in",
    description:
      "`password_signin: false`: admins sign in with single sign-on or a passkey only (the root ADMIN_TOKEN always works, and can turn it back on). " +
      "`second_factor_required: true`: an admin without a second factor is sent to enrol one at their next sign-in. " +
      `Owners only, and a step-up action (401 reauthentication_required when the owner's authentication is more than ${STEP_UP_SECONDS / 60} minutes old). Recorded as \`settings.updated\`.`,
    middleware: [permit("admins"), stepUp()],
    request: { body: jsonBody(SigninSettingsUpdate) },
    responses: { 200: json(SigninSettingsView, "The sign-in settings"), ...guardedErrors(400) },
  }),
  async (c) => {
    const body = c.req.valid("json");
    const { db } = c.var.services;
    const change: Partial<SigninSettings> = { passwordSignin: body.password_signin, secondFactorRequired: body.second_factor_required };
    const now = c.var.services.clock.now();
    const details = Object.fromEntries(Object.entries(body).filter(([, value]) => value !== undefined));
    await db.batch([...storeSigninSettings(db, change, now), auditStatement(db, actorOf(c), "settings.updated", SETTINGS_RESOURCE, now, details)]);
    return c.json(settingsView(await signinSettings(db)), 200);
  },
);

signinSettingsRoutes.openapi(
  createRoute({
    method: "get",
    path: SIGNIN_METHODS_PATH,
    summary: "The ways to sign in",
    description: "For the sign-in page, before anyone is signed in: whether passwords are accepted, and the single sign-on provider if one is set up. Passkeys always are.",
    security: [],
    responses: { 200: json(SigninMethods, "The ways to sign in"), ...errors() },
  }),
  async (c) => {
    const { services } = c.var;
    const { sso } = services.config;
    return c.json(
      {
        object: "signin_methods" as const,
        password: (await signinSettings(services.db)).passwordSignin,
        passkey: true as const,
        sso: sso ? { provider: sso.providerName, start_url: `/_keygate/v1${SSO_START_PATH}` } : null,
      },
      200,
    );
  },
);
