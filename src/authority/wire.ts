import { z } from "@hono/zod-openapi";
import { ENVIRONMENTS } from "./key";
import { ADMIN_ROLES, ROLE_SUMMARIES } from "./roles";
import { MAX_SCOPE_LENGTH, MAX_SCOPES, SCOPE_FORMAT, SCOPE_PATTERN, SCOPE_TOO_LONG } from "./scopes";
import { KEY_STATES } from "./status";
import { TENANT_STATUSES } from "./tenant";

/**
 * The shared vocabulary as every API validates and documents it (admin API, HTTP verify, the RPC
 * entrypoint). Kept apart from the lists themselves so the CLI and the console can import those
 * without zod.
 */

/** One of `values`; a value that is not is told the whole list, as the CLI's choices are. */
export function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  // A missing value keeps zod's own message, as every other required field does.
  return z.enum(values, { error: (issue) => (issue.input === undefined ? undefined : `must be one of ${values.join(", ")}`) });
}

export const Scope = z.string().max(MAX_SCOPE_LENGTH, SCOPE_TOO_LONG).regex(SCOPE_PATTERN, SCOPE_FORMAT);
export const Scopes = z.array(Scope).max(MAX_SCOPES);

export const Environment = oneOf(ENVIRONMENTS);
export const TenantStatus = oneOf(TENANT_STATUSES);
export const KeyState = oneOf(KEY_STATES);
export const AdminRole = oneOf(ADMIN_ROLES).openapi({
  description: ADMIN_ROLES.map((role) => `\`${role}\`: ${ROLE_SUMMARIES[role]}.`).join(" "),
});
