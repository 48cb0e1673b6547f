import type { Environment } from "../authority/key";
import type { KeyAuthVariables } from "../gateway/key-auth";
import type { AdminRole } from "../authority/roles";
import type { AdminRow } from "../store/admin-repo";

/** Who is calling the admin API. */
export type Principal =
  | { kind: "root" } // the ADMIN_TOKEN secret
  | { kind: "admin"; id: string; email: string; role: AdminRole; session: SessionFacts; row: AdminRow } // a signed-in admin's JWT; `row` as its check read it
  | { kind: "key"; keyId: string; tenantId: string; environment: Environment; scopes: string[] }; // tenant self-service

export interface AdminEnv {
  Bindings: Env;
  Variables: KeyAuthVariables & { principal: Principal };
}

/** What a signed-in admin's call knows of the sign-in behind its token. */
export interface SessionFacts {
  /** The session (admin_sessions.id); null for a token issued without one. */
  id: string | null;
  /** When the admin last proved who they are (ms): the sign-in, or a later step-up. */
  authenticatedAt: number;
  /** A second factor is required and the admin has none yet: only enrolling one is allowed. */
  enrolmentOnly: boolean;
}
