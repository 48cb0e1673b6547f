import type { Config } from "../config";

/** Who is calling the admin API. */
export type Principal =
  | { kind: "root" } // the ADMIN_TOKEN secret
  | { kind: "admin"; id: string; role: "owner" | "admin" | "viewer" }
  | { kind: "key"; keyId: string; tenantId: string }; // tenant self-service

export interface AdminEnv {
  Bindings: Env;
  Variables: {
    requestId: string;
    config: Config;
    principal: Principal;
  };
}

export function actorOf(principal: Principal): { type: string; id: string } {
  switch (principal.kind) {
    case "root":
      return { type: "root", id: "root" };
    case "admin":
      return { type: "admin", id: principal.id };
    case "key":
      return { type: "key", id: principal.keyId };
  }
}
