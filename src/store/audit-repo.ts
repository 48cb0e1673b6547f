import { prefixedId } from "../keys/random";
import { fetchPage, type Page, type PageRequest } from "./page";

/**
 * `client`: no one signed in, e.g. a failed sign-in or an app registering itself; the actor id is
 * the client's address. `oauth_client`: an app, by its client id (revoking its own token, or
 * presenting a refresh token or code a second time).
 */
export const ACTOR_TYPES = ["root", "admin", "key", "client", "oauth_client"] as const;
export type ActorType = (typeof ACTOR_TYPES)[number];
export const RESOURCE_TYPES = ["tenant", "api_key", "admin", "signin", "settings", "oauth_client", "oauth_grant"] as const;
export type ResourceType = (typeof RESOURCE_TYPES)[number];

export interface AuditEvent {
  actorType: ActorType;
  actorId: string;
  action: string; // e.g. "key.revoked"
  resourceType: ResourceType;
  resourceId: string;
  tenantId: string | null;
  requestId: string;
  details?: Record<string, unknown>;
}

export interface AuditRow {
  id: string;
  actor_type: ActorType;
  actor_id: string;
  action: string;
  resource_type: ResourceType;
  resource_id: string;
  tenant_id: string | null;
  request_id: string;
  details: string | null;
  created_at: number;
}

/**
 * A statement to run in the same D1 batch (one transaction) as the change it records. With
 * `ifChanged`, the event is only written if the statement just before it in the batch changed a
 * row (SQLite's changes()), so a change that turned out to be a no-op (a concurrent call made it
 * first) records nothing.
 */
export function insertAuditEvent(db: D1Database, event: AuditEvent, now: number, options: { ifChanged?: boolean } = {}): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO audit_events (id, actor_type, actor_id, action, resource_type, resource_id, tenant_id, request_id, details, created_at)
       SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE ${options.ifChanged ? "changes() > 0" : "true"}`,
    )
    .bind(
      prefixedId("evt"),
      event.actorType,
      event.actorId,
      event.action,
      event.resourceType,
      event.resourceId,
      event.tenantId,
      event.requestId,
      event.details ? JSON.stringify(event.details) : null,
      now,
    );
}

export interface AuditFilter {
  resourceId?: string;
  action?: string;
  actorId?: string;
  tenantId?: string;
  requestId?: string;
}

const FILTER_COLUMNS: Record<keyof AuditFilter, string> = {
  resourceId: "resource_id",
  action: "action",
  actorId: "actor_id",
  tenantId: "tenant_id",
  requestId: "request_id",
};

export function listAuditEvents(db: D1Database, filter: AuditFilter, page: PageRequest): Promise<Page<AuditRow>> {
  const where: string[] = [];
  const binds: unknown[] = [];
  for (const [field, column] of Object.entries(FILTER_COLUMNS) as [keyof AuditFilter, string][]) {
    if (filter[field] === undefined) continue;
    where.push(`${column} = ?`);
    binds.push(filter[field]);
  }
  return fetchPage<AuditRow>(
    db,
    "SELECT id, actor_type, actor_id, action, resource_type, resource_id, tenant_id, request_id, details, created_at FROM audit_events",
    { where, binds },
    page,
  );
}
