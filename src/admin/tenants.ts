import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { ApiError } from "../http/errors";
import { prefixedId } from "../keys/random";
import { FANOUT_BUDGET } from "../guards/guard-client";
import { TenantStatus } from "../authority/wire";
import type { Services } from "../services";
import {
  advanceFanout,
  ensureFanout,
  finishFanout,
  getFanout,
  getTenant,
  insertTenant,
  listTenants,
  quotasColumn,
  updateTenant,
  type TenantRow,
} from "../store/tenant-repo";
import { actorOf } from "./audit-trail";
import { auditStatement, tenantResource } from "../store/audit-trail";
import type { AdminEnv } from "./context";
import { fanOut } from "./fanout";
import { changeQuotas, configureNewQuotas, newTenantQuotas, QUOTA_NOTE, tenantViewNow } from "./tenant-quotas";
import { listOf, ListEnvelope, pageParams, pageRequest } from "./pagination";
import { permit } from "./permissions";
import { guardedErrors, json, jsonBody } from "./responses";
import { IdParam, Tenant, TenantCreate, TenantId, TenantUpdate, TenantUpdated } from "./schemas";
import { STEP_UP_SECONDS } from "../identity/session-policy";
import { assertRecentAuthentication } from "./step-up";
import { validationHook } from "./validation";
import { tenantView } from "./views";

export const tenantRoutes = new OpenAPIHono<AdminEnv>({ defaultHook: validationHook });


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
    description: `With \`quotas\`, the tenant's keys of each environment given spend from its quota (${QUOTA_NOTE}).`,
    middleware: [permit("write")],
    request: { body: jsonBody(TenantCreate) },
    responses: { 201: json(Tenant, "The tenant"), ...guardedErrors(400) },
  }),
  async (c) => {
    const { name, quotas } = c.req.valid("json");
    const now = c.var.services.clock.now();
    const { services } = c.var;
    const planned = newTenantQuotas(quotas);
    const row: TenantRow = { id: prefixedId("ten"), name, status: "active", created_at: now, updated_at: now, quotas: quotasColumn(planned) };
    await configureNewQuotas(services, row.id, planned, row.updated_at);
    const details = quotas === undefined ? undefined : { quotas };
    await services.db.batch([insertTenant(services.db, row), auditStatement(services.db, actorOf(c), "tenant.created", tenantResource(row), now, details)]);
    return c.json(await tenantViewNow(services, row), 201);
  },
);

tenantRoutes.openapi(
  createRoute({
    method: "get",
    path: "/tenants",
    summary: "List tenants",
    description: "Newest first. Quotas show their plan only (`used`, `remaining` and `resets_at` are null): GET one tenant for where they stand.",
    middleware: [permit("read")],
    request: { query: z.strictObject({ status: TenantStatus.optional(), ...pageParams("tenants") }) },
    responses: { 200: json(ListEnvelope(Tenant), "A page of tenants"), ...guardedErrors(400) },
  }),
  async (c) => {
    const query = c.req.valid("query");
    const page = await listTenants(c.var.services.db, { status: query.status }, pageRequest(query));
    return c.json(listOf("tenants", page, (row) => tenantView(row)), 200);
  },
);

tenantRoutes.openapi(
  createRoute({
    method: "get",
    path: "/tenants/{id}",
    summary: "Get a tenant",
    description: "Each quota with where it stands now: `used`, `remaining` and `resets_at`, read from the quota itself.",
    middleware: [permit("read")],
    request: { params: IdParam(TenantId) },
    responses: { 200: json(Tenant, "The tenant"), ...guardedErrors(400, 404) },
  }),
  async (c) => c.json(await tenantViewNow(c.var.services, await loadTenant(c.var.services, c.req.valid("param").id)), 200),
);

tenantRoutes.openapi(
  createRoute({
    method: "patch",
    path: "/tenants/{id}",
    summary: "Rename, suspend or reactivate a tenant, or change its quotas",
    description:
      "A status is written to the Durable Object of each of the tenant's live keys and OAuth grants, in id order, before this answers: the next request with such a key or access token sees it. " +
      `One call writes at most ${FANOUT_BUDGET} keys' objects (Workers limits the subrequests of one request). ` +
      "A tenant with more keys gets 202 with `fanout.pending: true`, and the keys not yet reached keep the old status: repeat the same PATCH until it answers 200 " +
      `(each repeat continues where the last stopped, ${FANOUT_BUDGET} keys at a time). Repeating a status the tenant already has changes nothing in D1 and writes every key's object again, which repairs a fan-out that failed part-way. ` +
      `Quotas are written the same way, to the live keys (and, for live, the OAuth grants) of each environment changed (${QUOTA_NOTE}); status and quotas are changed in separate requests. ` +
      `Suspending is a step-up action: a signed-in admin's authentication must be less than ${STEP_UP_SECONDS / 60} minutes old (else 401 reauthentication_required).`,
    middleware: [permit("write")],
    request: { params: IdParam(TenantId), body: jsonBody(TenantUpdate) },
    responses: {
      200: json(TenantUpdated, "The tenant; every key's object has its status and quotas"),
      202: json(TenantUpdated, "The tenant; some keys' objects still have the old status or quotas: repeat the request"),
      ...guardedErrors(400, 404),
    },
  }),
  async (c) => {
    const { quotas, ...change } = c.req.valid("json");
    const id = c.req.valid("param").id;
    const current = await loadTenant(c.var.services, id);
    // Suspending refuses every key of the tenant at once: a step-up action.
    if (change.status === "suspended" && current.status !== "suspended") await assertRecentAuthentication(c);
    const db = c.var.services.db;
    const now = c.var.services.clock.now();
    const action =
      change.status !== undefined && change.status !== current.status ? (change.status === "suspended" ? "tenant.suspended" : "tenant.reactivated") : "tenant.updated";
    if (change.name !== undefined || change.status !== undefined) {
      // The update changes no row when nothing differs (a repeat, or a concurrent call made the
      // same change first); the audit event then records nothing either.
      const statements = [updateTenant(db, id, change, now), auditStatement(db, actorOf(c), action, tenantResource(current), now, change, { ifChanged: true })];
      if (change.status !== undefined) statements.push(ensureFanout(db, id));
      await db.batch(statements);
    }
    if (quotas !== undefined) {
      const pending = await changeQuotas(c.var.services, actorOf(c), current, quotas);
      const view = await tenantViewNow(c.var.services, await loadTenant(c.var.services, id));
      return pending ? c.json({ ...view, fanout: { pending } }, 202) : c.json({ ...view, fanout: { pending } }, 200);
    }
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
  const { db } = services;
  const { pending } = await fanOut(
    services,
    {
      tenantId,
      after: fanout.after_key_id,
      write: (guarded) => services.guards.writePolicy(guarded.id, { tenantActive }, guarded.policy, fanout.version),
      // Replaced by a newer status change: that change's own call writes every key from the start.
      advance: (after) => advanceFanout(db, tenantId, fanout.version, after),
      finish: () => finishFanout(db, tenantId, fanout.version),
    },
    FANOUT_BUDGET,
  );
  return pending;
}
