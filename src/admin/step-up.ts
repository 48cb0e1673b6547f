import type { Context, MiddlewareHandler } from "hono";
import { ApiError } from "../http/errors";
import { hasPassword } from "../identity/passwords";
import { STEP_UP_SECONDS, stepUpNeeded } from "../identity/session-policy";
import { signinSettings } from "../identity/signin-settings";
import type { Services } from "../services";
import type { AdminRow } from "../store/admin-repo";
import { factorMethods, factorSummary } from "../store/factor-repo";
import type { AdminEnv } from "./context";

/**
 * Step-up: sensitive actions (creating, removing or changing an admin, suspending a tenant,
 * changing how admins sign in, adding or removing a second factor) need the admin to have proved
 * who they are less than STEP_UP_SECONDS ago: at sign-in, or again with POST /account/reauthenticate.
 * The root ADMIN_TOKEN is no sign-in and has no session: it is not asked (it is the way back in).
 */

/** The ways `admin` can prove who they are right now (what the console offers in its prompt). */
export async function reauthenticationMethods(services: Services, admin: AdminRow): Promise<string[]> {
  const [factors, settings] = await Promise.all([factorSummary(services.db, admin.id), signinSettings(services.db)]);
  return [
    ...(hasPassword(admin) && settings.passwordSignin ? ["password"] : []),
    ...factorMethods(factors),
    // Single sign-on cannot answer in place: signing in again through it is a fresh authentication.
    ...(services.config.sso ? ["sso"] : []),
  ];
}

/** 401 reauthentication_required, unless the caller's authentication is recent enough. */
export async function assertRecentAuthentication(c: Context<AdminEnv>): Promise<void> {
  const principal = c.var.principal;
  if (principal.kind !== "admin") return;
  const { services } = c.var;
  if (!stepUpNeeded(principal.session.authenticatedAt, services.clock.now())) return;
  throw new ApiError(
    "reauthentication_required",
    `This action needs you to have confirmed who you are in the last ${STEP_UP_SECONDS / 60} minutes: POST /account/reauthenticate with your password, a code or a passkey, then repeat it.`,
    { methods: await reauthenticationMethods(services, principal.row), within_seconds: STEP_UP_SECONDS },
  );
}

/** Route middleware for a sensitive action: after permit(), before anything changes. */
export function stepUp(): MiddlewareHandler<AdminEnv> {
  return async (c, next) => {
    await assertRecentAuthentication(c);
    await next();
  };
}
