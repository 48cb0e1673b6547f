import type { MiddlewareHandler } from "hono";
import { ApiError } from "../http/errors";
import type { AdminEnv } from "./context";

/**
 * An admin who must have a second factor and has none signs in to a session that may only enrol
 * one: every route but their own account's answers 403 second_factor_required until they do.
 */
export function enrolmentGate(apiPrefix: string): MiddlewareHandler<AdminEnv> {
  const accountPrefix = `${apiPrefix}/account`;
  return async (c, next) => {
    const principal = c.var.principal;
    if (principal?.kind === "admin" && principal.session.enrolmentOnly && c.req.path !== accountPrefix && !c.req.path.startsWith(`${accountPrefix}/`)) {
      throw new ApiError("second_factor_required", "Every admin needs a second factor: add an authenticator app (POST /account/totp) or a passkey (POST /account/passkeys) first.");
    }
    await next();
  };
}
