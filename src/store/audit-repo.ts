import { prefixedId } from "../keys/random";

export interface AuditEvent {
  actorType: string;
  actorId: string;
  action: string; // e.g. "key.revoked"
  resourceType: "tenant" | "api_key" | "admin";
  resourceId: string;
  tenantId: string | null;
  requestId: string;
  details?: Record<string, unknown>;
}

/** A statement to run in the same D1 batch (one transaction) as the change it records. */
export function insertAuditEvent(db: D1Database, event: AuditEvent, now: number): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO audit_events (id, actor_type, actor_id, action, resource_type, resource_id, tenant_id, request_id, details, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
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
