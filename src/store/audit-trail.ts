import { insertAuditEvent, type ActorType, type ResourceType } from "./audit-repo";

// The "who" and "what" of an audit event, and the statement that records it. Free of any request:
// the admin API names its actor from the caller (src/admin/audit-trail.ts), OAuth from the app.

/** Who did it and under which request: the "who" and "when" of every audit event. */
export interface Actor {
  type: ActorType;
  id: string;
  requestId: string;
}

export interface Resource {
  type: ResourceType;
  id: string;
  tenantId: string | null;
}

/**
 * The audit event for a change, as a statement for the change's own D1 batch: the change and its
 * record commit together or not at all. With `ifChanged`, put it right after the change's UPDATE:
 * an UPDATE that changed nothing (a concurrent call got there first) then records nothing.
 */
export function auditStatement(
  db: D1Database,
  actor: Actor,
  action: string,
  resource: Resource,
  now: number,
  details?: Record<string, unknown>,
  options: { ifChanged?: boolean } = {},
): D1PreparedStatement {
  return insertAuditEvent(
    db,
    {
      actorType: actor.type,
      actorId: actor.id,
      action,
      resourceType: resource.type,
      resourceId: resource.id,
      tenantId: resource.tenantId,
      requestId: actor.requestId,
      details,
    },
    now,
    options,
  );
}

export const keyResource = (key: { id: string; tenantId: string }): Resource => ({ type: "api_key", id: key.id, tenantId: key.tenantId });
export const tenantResource = (row: { id: string }): Resource => ({ type: "tenant", id: row.id, tenantId: row.id });
export const adminResource = (row: { id: string }): Resource => ({ type: "admin", id: row.id, tenantId: null });
export const oauthClientResource = (client: { id: string; tenantId: string | null }): Resource => ({ type: "oauth_client", id: client.id, tenantId: client.tenantId });
export const grantResource = (grant: { id: string; tenantId: string }): Resource => ({ type: "oauth_grant", id: grant.id, tenantId: grant.tenantId });
/** An app acting for itself (revoking its token, presenting a used refresh token or code), under `requestId`. */
export const appActor = (clientId: string, requestId: string): Actor => ({ type: "oauth_client", id: clientId, requestId });
/** A sign-in attempt, named by the email it was made for (which may belong to no admin). */
export const signinResource = (email: string): Resource => ({ type: "signin", id: email, tenantId: null });
