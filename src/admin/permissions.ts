import type { MiddlewareHandler } from "hono";
import { ApiError } from "../http/errors";
import type { Environment } from "../keys/format";
import type { AdminRole } from "../store/admin-repo";
import type { AdminEnv, Principal } from "./context";

/**
 * What a route needs: `read` (seeing tenants, keys, usage, audit), `write` (tenants and keys),
 * `admins` (managing admin users), `verify` (verifying keys, which counts in a key's window and so
 * is a write, though it changes no setting). Roles grant them; root (ADMIN_TOKEN) has all. A
 * tenant's API key has none, and only reaches routes declared `selfService`, always confined to
 * its own tenant.
 */
export type Access = "read" | "write" | "admins" | "verify";

const GRANTS: Record<AdminRole, ReadonlySet<Access>> = {
  owner: new Set(["read", "write", "admins", "verify"]),
  admin: new Set(["read", "write", "verify"]),
  viewer: new Set(["read"]),
  // A service that checks keys needs no view of them: a leaked verifier token reveals nothing.
  verifier: new Set(["verify"]),
};

export function allows(principal: Principal, access: Access, selfService: boolean): boolean {
  switch (principal.kind) {
    case "root":
      return true;
    case "admin":
      return GRANTS[principal.role].has(access);
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
