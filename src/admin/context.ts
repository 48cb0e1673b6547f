import type { Environment } from "../authority/key";
import type { KeyAuthVariables } from "../gateway/key-auth";
import type { AdminRole } from "../authority/roles";

/** Who is calling the admin API. */
export type Principal =
  | { kind: "root" } // the ADMIN_TOKEN secret
  | { kind: "admin"; id: string; email: string; role: AdminRole } // a signed-in admin's JWT
  | { kind: "key"; keyId: string; tenantId: string; environment: Environment; scopes: string[] }; // tenant self-service

export interface AdminEnv {
  Bindings: Env;
  Variables: KeyAuthVariables & { principal: Principal };
}
