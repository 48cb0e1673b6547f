import type { Context } from "hono";
import type { Actor } from "../store/audit-trail";
import type { ActorType } from "../store/audit-repo";
import type { AdminEnv, Principal } from "./context";

function actorIdentity(principal: Principal): { type: ActorType; id: string } {
  switch (principal.kind) {
    case "root":
      return { type: "root", id: "root" };
    case "admin":
      return { type: "admin", id: principal.id };
    case "key":
      return { type: "key", id: principal.keyId };
  }
}

/** The caller of an admin route as the actor of what it changes. */
export function actorOf(c: Context<AdminEnv>): Actor {
  return { ...actorIdentity(c.var.principal), requestId: c.var.requestId };
}
