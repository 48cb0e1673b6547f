import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { ApiError } from "../http/errors";
import { prefixedId } from "../keys/random";
import { writeKeyPolicy } from "../ratelimit/guard-client";
import { insertAuditEvent } from "../store/audit-repo";
import { liveKeysOfTenant } from "../store/key-repo";
import { policyFromRow } from "../store/key-rows";
import { getTenant, insertTenant, updateTenant, type TenantRow } from "../store/tenant-repo";
import { actorOf, type AdminEnv } from "./context";
import { ErrorEnvelope, IdParam, Tenant, TenantCreate, TenantId, TenantUpdate } from "./schemas";
import { validationHook } from "./validation";
import { tenantView } from "./views";

export const tenantRoutes = new OpenAPIHono<AdminEnv>({ defaultHook: validationHook });

const errors = { 400: { description: "Invalid request", content: { "application/json": { schema: ErrorEnvelope } } } };
const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { "application/json": { schema } } });

/** How many key objects are written at once when a tenant's status fans out. */
const FAN_OUT = 32;

tenantRoutes.openapi(
  createRoute({
    method: "post",
    path: "/tenants",
    summary: "Create a tenant",
    request: { body: { content: { "application/json": { schema: TenantCreate } }, required: true } },
    responses: { 201: json(Tenant, "The tenant"), ...errors },
  }),
  async (c) => {
    const { name } = c.req.valid("json");
    const now = Date.now();
    const row: TenantRow = { id: prefixedId("ten"), name, status: "active", created_at: now, updated_at: now };
    const actor = actorOf(c.var.principal);
    await c.env.DB.batch([
      insertTenant(c.env.DB, row),
      insertAuditEvent(c.env.DB, { actorType: actor.type, actorId: actor.id, action: "tenant.created", resourceType: "tenant", resourceId: row.id, tenantId: row.id, requestId: c.var.requestId }, now),
    ]);
    return c.json(tenantView(row), 201);
  },
);

tenantRoutes.openapi(
  createRoute({
    method: "get",
    path: "/tenants/{id}",
    summary: "Get a tenant",
    request: { params: IdParam(TenantId) },
    responses: { 200: json(Tenant, "The tenant"), 404: json(ErrorEnvelope, "No such tenant"), ...errors },
  }),
  async (c) => {
    const row = await getTenant(c.env.DB, c.req.valid("param").id);
    if (!row) throw new ApiError("not_found", "No such tenant.");
    return c.json(tenantView(row), 200);
  },
);

tenantRoutes.openapi(
  createRoute({
    method: "patch",
    path: "/tenants/{id}",
    summary: "Rename, suspend or reactivate a tenant",
    description: "Suspension is written to every key's Durable Object before this returns: the next request with any of the tenant's keys is refused.",
    request: { params: IdParam(TenantId), body: { content: { "application/json": { schema: TenantUpdate } }, required: true } },
    responses: { 200: json(Tenant, "The tenant"), 404: json(ErrorEnvelope, "No such tenant"), ...errors },
  }),
  async (c) => {
    const change = c.req.valid("json");
    const current = await getTenant(c.env.DB, c.req.valid("param").id);
    if (!current) throw new ApiError("not_found", "No such tenant.");
    const now = Date.now();
    const row: TenantRow = { ...current, name: change.name ?? current.name, status: change.status ?? current.status, updated_at: now };
    const actor = actorOf(c.var.principal);
    const action = change.status && change.status !== current.status ? (change.status === "suspended" ? "tenant.suspended" : "tenant.reactivated") : "tenant.updated";
    await c.env.DB.batch([
      updateTenant(c.env.DB, row),
      insertAuditEvent(c.env.DB, { actorType: actor.type, actorId: actor.id, action, resourceType: "tenant", resourceId: row.id, tenantId: row.id, requestId: c.var.requestId, details: change }, now),
    ]);
    // Always fanned out when a status is given, so repeating the call repairs a partial failure.
    if (change.status) await fanOutTenantStatus(c.env, row.id, change.status === "active");
    return c.json(tenantView(row), 200);
  },
);

async function fanOutTenantStatus(env: Env, tenantId: string, tenantActive: boolean): Promise<void> {
  const keys = await liveKeysOfTenant(env.DB, tenantId);
  for (let i = 0; i < keys.length; i += FAN_OUT) {
    await Promise.all(keys.slice(i, i + FAN_OUT).map((key) => writeKeyPolicy(env, key.id, { tenantActive }, policyFromRow(key))));
  }
}
