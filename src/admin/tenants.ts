import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { ApiError } from "../http/errors";
import { prefixedId } from "../keys/random";
import { writeKeyPolicy } from "../ratelimit/guard-client";
import { liveKeysOfTenant } from "../store/key-repo";
import { policyFromRow } from "../store/key-rows";
import { getTenant, insertTenant, listTenants, updateTenant, type TenantRow } from "../store/tenant-repo";
import { actorOf, auditStatement, tenantResource } from "./audit-trail";
import type { AdminEnv } from "./context";
import { listOf, ListEnvelope, pageParams, pageRequest } from "./pagination";
import { permit } from "./permissions";
import { errors, json, jsonBody } from "./responses";
import { IdParam, Tenant, TenantCreate, TenantId, TenantUpdate } from "./schemas";
import { validationHook } from "./validation";
import { tenantView } from "./views";

export const tenantRoutes = new OpenAPIHono<AdminEnv>({ defaultHook: validationHook });

/** How many key objects are written at once when a tenant's status fans out. */
const FAN_OUT = 32;

async function loadTenant(env: Env, id: string): Promise<TenantRow> {
  const row = await getTenant(env.DB, id);
  if (!row) throw new ApiError("not_found", "No such tenant.");
  return row;
}

tenantRoutes.openapi(
  createRoute({
    method: "post",
    path: "/tenants",
    summary: "Create a tenant",
    middleware: [permit("write")],
    request: { body: jsonBody(TenantCreate) },
    responses: { 201: json(Tenant, "The tenant"), ...errors(400, 401, 403) },
  }),
  async (c) => {
    const { name } = c.req.valid("json");
    const now = Date.now();
    const row: TenantRow = { id: prefixedId("ten"), name, status: "active", created_at: now, updated_at: now };
    await c.env.DB.batch([insertTenant(c.env.DB, row), auditStatement(c.env.DB, actorOf(c), "tenant.created", tenantResource(row), now)]);
    return c.json(tenantView(row), 201);
  },
);

tenantRoutes.openapi(
  createRoute({
    method: "get",
    path: "/tenants",
    summary: "List tenants",
    description: "Newest first.",
    middleware: [permit("read")],
    request: { query: z.strictObject({ status: z.enum(["active", "suspended"]).optional(), ...pageParams("tenants") }) },
    responses: { 200: json(ListEnvelope(Tenant), "A page of tenants"), ...errors(400, 401, 403) },
  }),
  async (c) => {
    const query = c.req.valid("query");
    const page = await listTenants(c.env.DB, { status: query.status }, pageRequest(query));
    return c.json(listOf("tenants", page, tenantView), 200);
  },
);

tenantRoutes.openapi(
  createRoute({
    method: "get",
    path: "/tenants/{id}",
    summary: "Get a tenant",
    middleware: [permit("read")],
    request: { params: IdParam(TenantId) },
    responses: { 200: json(Tenant, "The tenant"), ...errors(400, 401, 403, 404) },
  }),
  async (c) => c.json(tenantView(await loadTenant(c.env, c.req.valid("param").id)), 200),
);

tenantRoutes.openapi(
  createRoute({
    method: "patch",
    path: "/tenants/{id}",
    summary: "Rename, suspend or reactivate a tenant",
    description: "Suspension is written to every key's Durable Object before this returns: the next request with any of the tenant's keys is refused.",
    middleware: [permit("write")],
    request: { params: IdParam(TenantId), body: jsonBody(TenantUpdate) },
    responses: { 200: json(Tenant, "The tenant"), ...errors(400, 401, 403, 404) },
  }),
  async (c) => {
    const change = c.req.valid("json");
    const current = await loadTenant(c.env, c.req.valid("param").id);
    const now = Date.now();
    const row: TenantRow = { ...current, name: change.name ?? current.name, status: change.status ?? current.status, updated_at: now };
    const action = change.status && change.status !== current.status ? (change.status === "suspended" ? "tenant.suspended" : "tenant.reactivated") : "tenant.updated";
    await c.env.DB.batch([updateTenant(c.env.DB, row), auditStatement(c.env.DB, actorOf(c), action, tenantResource(row), now, change)]);
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
