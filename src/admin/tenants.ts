import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { ApiError } from "../http/errors";
import { prefixedId } from "../keys/random";
import { policyOf, type KeyPolicy } from "../authority/key";
import { grantPolicy } from "../authority/oauth";
import { FANOUT_BUDGET, inChunks } from "../guards/guard-client";
import { TenantStatus } from "../authority/wire";
import type { Services } from "../services";
import { liveKeysOfTenant } from "../store/key-repo";
import { liveGrantsOfTenant } from "../store/oauth-grant-repo";
import {
  advanceFanout,
  ensureFanout,
  finishFanout,
  getFanout,
  getTenant,
  insertTenant,
  listTenants,
  updateTenant,
  type TenantRow,
} from "../store/tenant-repo";
import { actorOf } from "./audit-trail";
import { auditStatement, tenantResource } from "../store/audit-trail";
import type { AdminEnv } from "./context";
import { listOf, ListEnvelope, pageParams, pageRequest } from "./pagination";
import { permit } from "./permissions";
import { guardedErrors, json, jsonBody } from "./responses";
import { IdParam, Tenant, TenantCreate, TenantId, TenantUpdate, TenantUpdated } from "./schemas";
import { assertRecentAuthentication } from "./step-up";
import { validationHook } from "./validation";
import { tenantView } from "./views";

export const tenantRoutes = new OpenAPIHono<AdminEnv>({ defaultHook: validationHook });

/** Keys (and grants) read per D1 query of a fan-out. */
const FANOUT_PAGE = 100;
export { FANOUT_BUDGET };

async function loadTenant(services: Services, id: string): Promise<TenantRow> {
  const row = await getTenant(services.db, id);
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
    responses: { 201: json(Tenant, "The tenant"), ...guardedErrors(400) },
  }),
  async (c) => {
    const { name } = c.req.valid("json");
    const now = c.var.services.clock.now();
    const row: TenantRow = { id: prefixedId("ten"), name, status: "active", created_at: now, updated_at: now };
    await c.var.services.db.batch([insertTenant(c.var.services.db, row), auditStatement(c.var.services.db, actorOf(c), "tenant.created", tenantResource(row), now)]);
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
    request: { query: z.strictObject({ status: TenantStatus.optional(), ...pageParams("tenants") }) },
    responses: { 200: json(ListEnvelope(Tenant), "A page of tenants"), ...guardedErrors(400) },
  }),
  async (c) => {
    const query = c.req.valid("query");
    const page = await listTenants(c.var.services.db, { status: query.status }, pageRequest(query));
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
    responses: { 200: json(Tenant, "The tenant"), ...guardedErrors(400, 404) },
  }),
  async (c) => c.json(tenantView(await loadTenant(c.var.services, c.req.valid("param").id)), 200),
);

tenantRoutes.openapi(
  createRoute({
    method: "patch",
    path: "/tenants/{id}",
    summary: "Rename, suspend or reactivate a tenant",
    description:
      "A status is written to the Durable Object of each of the tenant's live keys and OAuth grants, in id order, before this answers: the next request with such a key or access token sees it. " +
      `One call writes at most ${FANOUT_BUDGET} keys' objects (Workers limits the subrequests of one request). ` +
      "A tenant with more keys gets 202 with `fanout.pending: true`, and the keys not yet reached keep the old status: repeat the same PATCH until it answers 200 " +
      `(each repeat continues where the last stopped, ${FANOUT_BUDGET} keys at a time). Repeating a status the tenant already has changes nothing in D1 and writes every key's object again, which repairs a fan-out that failed part-way. ` +
      "Suspending is a step-up action: a signed-in admin's authentication must be less than 5 minutes old (else 401 reauthentication_required).",
    middleware: [permit("write")],
    request: { params: IdParam(TenantId), body: jsonBody(TenantUpdate) },
    responses: {
      200: json(TenantUpdated, "The tenant; every key's object has its status"),
      202: json(TenantUpdated, "The tenant; some keys' objects still have the old status: repeat the request"),
      ...guardedErrors(400, 404),
    },
  }),
  async (c) => {
    const change = c.req.valid("json");
    const id = c.req.valid("param").id;
    const current = await loadTenant(c.var.services, id);
    // Suspending refuses every key of the tenant at once: a step-up action.
    if (change.status === "suspended" && current.status !== "suspended") await assertRecentAuthentication(c);
    const db = c.var.services.db;
    const now = c.var.services.clock.now();
    const action =
      change.status !== undefined && change.status !== current.status ? (change.status === "suspended" ? "tenant.suspended" : "tenant.reactivated") : "tenant.updated";
    // The update changes no row when nothing differs (a repeat, or a concurrent call made the
    // same change first); the audit event then records nothing either.
    const statements = [updateTenant(db, id, change, now), auditStatement(db, actorOf(c), action, tenantResource(current), now, change, { ifChanged: true })];
    if (change.status !== undefined) statements.push(ensureFanout(db, id));
    await db.batch(statements);
    const row = await loadTenant(c.var.services, id);
    if (change.status === undefined) return c.json(tenantView(row), 200);
    const pending = await continueFanout(c.var.services, id);
    return pending ? c.json({ ...tenantView(row), fanout: { pending } }, 202) : c.json({ ...tenantView(row), fanout: { pending } }, 200);
  },
);

/**
 * Writes the tenant's pending status change to the next FANOUT_BUDGET objects of its keys and OAuth
 * grants (a grant is decided by its own object, as a key is), recording
 * progress after each page so that the next call (or a repeat after a failure) continues there.
 * Each write carries the change's version, so an object that already has a newer status keeps
 * it. Keys created meanwhile carry the status themselves (key-lifecycle.ts publish). True while
 * keys remain.
 */
async function continueFanout(services: Services, tenantId: string): Promise<boolean> {
  const fanout = await getFanout(services.db, tenantId);
  if (!fanout) return false; // a concurrent call finished it
  const tenantActive = fanout.tenant_active === 1;
  let after = fanout.after_key_id;
  for (let written = 0; written < FANOUT_BUDGET; ) {
    const pageSize = Math.min(FANOUT_PAGE, FANOUT_BUDGET - written);
    const keys = await liveGuardedOfTenant(services, tenantId, after, pageSize);
    await inChunks(keys, (key) => services.guards.writePolicy(key.id, { tenantActive }, key.policy, fanout.version));
    written += keys.length;
    if (keys.length < pageSize) {
      await finishFanout(services.db, tenantId, fanout.version);
      return false;
    }
    after = keys.at(-1)!.id;
    // Replaced by a newer status change: that change's own call writes every key from the start.
    if (!(await advanceFanout(services.db, tenantId, fanout.version, after))) return false;
  }
  return true;
}

/**
 * One page, in id order, of the tenant's live keys and OAuth grants together, after `afterId`:
 * both are decided by an object of their own, and one cursor orders them all.
 */
async function liveGuardedOfTenant(services: Services, tenantId: string, afterId: string, limit: number): Promise<{ id: string; policy: KeyPolicy }[]> {
  const [keys, grants] = await Promise.all([
    liveKeysOfTenant(services.db, tenantId, afterId, limit),
    liveGrantsOfTenant(services.db, tenantId, afterId, limit),
  ]);
  const all = [...keys.map((key) => ({ id: key.id, policy: policyOf(key) })), ...grants.map((grant) => ({ id: grant.id, policy: grantPolicy(grant) }))];
  return all.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).slice(0, limit);
}
