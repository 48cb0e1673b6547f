/**
 * Admin roles and what each grants, in one place: the API's checks and schemas, the CLI's `--role`
 * choices and the console's menus all take them from here (the admins table's CHECK constraint
 * lists the same; a test compares them). Pure data, so the CLI and the console bundle it without
 * any server code.
 */
export const ADMIN_ROLES = ["owner", "admin", "viewer", "verifier", "authorizer"] as const;
export type AdminRole = (typeof ADMIN_ROLES)[number];

/**
 * What a route needs: `read` (seeing tenants, keys, usage, audit), `write` (tenants and keys),
 * `admins` (managing admin users), `verify` (verifying keys, which counts in a key's window and so
 * is a write, though it changes no setting), `authorize` (completing an OAuth authorization for a
 * user, which hands an app a grant). Roles grant them; root (ADMIN_TOKEN) has all.
 */
export type Access = "read" | "write" | "admins" | "verify" | "authorize";

export const ROLE_GRANTS: Readonly<Record<AdminRole, readonly Access[]>> = {
  owner: ["read", "write", "admins", "verify", "authorize"],
  admin: ["read", "write", "verify", "authorize"],
  viewer: ["read"],
  // A service that checks keys needs no view of them: a leaked verifier token reveals nothing.
  verifier: ["verify"],
  // The operator's consent page: it signs its users in and completes their authorizations, and can
  // do nothing else, so its token reveals no key, tenant or audit event either.
  authorizer: ["authorize"],
};

/** Each role in a few words, for help texts, menus and the API document. */
export const ROLE_SUMMARIES: Readonly<Record<AdminRole, string>> = {
  owner: "everything, including managing admins",
  admin: "manages tenants, keys and OAuth clients, verifies keys and completes OAuth authorizations",
  viewer: "reads tenants, keys, OAuth clients and grants, usage and the audit trail",
  verifier: "verifies keys (POST /keys/verify) and nothing else",
  authorizer: "completes OAuth authorizations for the consent page (POST /oauth-authorizations) and nothing else",
};

export function roleGrants(role: AdminRole, access: Access): boolean {
  return ROLE_GRANTS[role].includes(access);
}

/** The roles granted `access`, in ADMIN_ROLES' order. */
export function rolesGranted(access: Access): AdminRole[] {
  return ADMIN_ROLES.filter((role) => roleGrants(role, access));
}

/** Whether `value` names a role: what a stored row or a token's claim is checked with. */
export function isAdminRole(value: unknown): value is AdminRole {
  return (ADMIN_ROLES as readonly unknown[]).includes(value);
}
