import type { MiddlewareHandler } from "hono";
import { ApiError } from "../http/errors";
import type { Environment } from "../authority/key";
import { roleGrants, type Access } from "../authority/roles";
import type { AdminEnv, Principal } from "./context";

/**
 * Who may call a route needing `access` (the roles' grants are in authority/roles.ts): root
 * (ADMIN_TOKEN) may do everything; an admin what the role grants; a tenant's API key nothing but
 * the routes declared `selfService`, always confined to its own tenant.
 */
export function allows(principal: Principal, access: Access, selfService: boolean): boolean {
  switch (principal.kind) {
    case "root":
      return true;
    case "admin":
      return roleGrants(principal.role, access);
    case "key":
      return selfService;
  }
}

/** Route middleware: runs before input validation, so a caller without the right learns nothing. */
export function permit(access: Access, options: { selfService?: boolean } = {}): MiddlewareHandler<AdminEnv> {
  return async (c, next) => {
    const principal = c.var.principal;
    if (!allows(principal, access, options.selfService ?? false)) {
      const message =
        principal.kind === "key"
          ? "An API key may only manage its own tenant's keys."
          : `The role "${principal.kind === "admin" ? principal.role : ""}" may not do this.`;
      throw new ApiError("insufficient_permissions", message, { required: access });
    }
    await next();
  };
}

/** The one tenant a self-service caller may touch; null for admins (all tenants). */
export function ownTenant(principal: Principal): string | null {
  return principal.kind === "key" ? principal.tenantId : null;
}

/**
 * The one environment a self-service caller may touch; null for admins (both). A test key that
 * could reach live keys would let test tooling (often less guarded) manage production access.
 */
export function ownEnvironment(principal: Principal): Environment | null {
  return principal.kind === "key" ? principal.environment : null;
}
