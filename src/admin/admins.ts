import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { ApiError } from "../http/errors";
import { hashPassword } from "../identity/passwords";
import { STEP_UP_SECONDS } from "../identity/session-policy";
import { prefixedId } from "../keys/random";
import type { Services } from "../services";
import { deleteFactorsOf } from "../store/factor-repo";
import { revokeSessionsOf } from "../store/session-repo";
import { countOwners, deleteAdmin, getAdmin, getAdminByEmail, insertAdmin, listAdmins, updateAdmin, type AdminRow } from "../store/admin-repo";
import { actorOf } from "./audit-trail";
import { adminResource, auditStatement } from "../store/audit-trail";
import { isUniqueViolation } from "../store/errors";
import type { AdminEnv } from "./context";
import { listOf, ListEnvelope, pageParams, pageRequest } from "./pagination";
import { permit } from "./permissions";
import { guardedErrors, json, jsonBody } from "./responses";
import { Admin, AdminCreate, AdminId, AdminUpdate, IdParam } from "./schemas";
import { stepUp } from "./step-up";
import { validationHook } from "./validation";
import { adminView } from "./views";

/** Admin users: managed by owners, or by the ADMIN_TOKEN (which is how the first owner is made). */
export const adminRoutes = new OpenAPIHono<AdminEnv>({ defaultHook: validationHook });

async function loadAdmin(services: Services, id: string): Promise<AdminRow> {
  const row = await getAdmin(services.db, id);
  if (!row) throw new ApiError("not_found", "No such admin.");
  return row;
}

/** The root token always remains, but an owner-less keygate needs it to recover: refuse that. */
async function assertNotLastOwner(services: Services, row: AdminRow): Promise<void> {
  if (row.role === "owner" && (await countOwners(services.db)) <= 1) {
    throw new ApiError("conflict", "This is the last owner; make another owner first.");
  }
}

function emailTaken(): ApiError {
  return new ApiError("conflict", "An admin with this email exists.", { field: "email" });
}

adminRoutes.openapi(
  createRoute({
    method: "post",
    path: "/admins",
    summary: "Create an admin user",
    description:
      "Owners only (or the ADMIN_TOKEN, which is how the first owner is created). The password is stored as a PBKDF2-SHA256 verifier. " +
      `A step-up action: an owner's sign-in or confirmation must be less than ${STEP_UP_SECONDS / 60} minutes old (else 401 reauthentication_required).`,
    middleware: [permit("admins"), stepUp()],
    request: { body: jsonBody(AdminCreate) },
    responses: { 201: json(Admin, "The admin"), ...guardedErrors(400, 409) },
  }),
  async (c) => {
    const { email, password, role } = c.req.valid("json");
    if (await getAdminByEmail(c.var.services.db, email)) throw emailTaken();
    const now = c.var.services.clock.now();
    const row: AdminRow = {
      id: prefixedId("adm"),
      email,
      role,
      ...(await hashPassword(password)),
      created_at: now,
      updated_at: now,
      last_signin_at: null,
      session_epoch: 0,
    };
    try {
      await c.var.services.db.batch([insertAdmin(c.var.services.db, row), auditStatement(c.var.services.db, actorOf(c), "admin.created", adminResource(row), now, { email, role })]);
    } catch (error) {
      // Two concurrent creates with one email: the unique index decides.
      if (isUniqueViolation(error)) throw emailTaken();
      throw error;
    }
    return c.json(adminView(row), 201);
  },
);

adminRoutes.openapi(
  createRoute({
    method: "get",
    path: "/admins",
    summary: "List admin users",
    middleware: [permit("admins")],
    request: { query: z.strictObject(pageParams("admins")) },
    responses: { 200: json(ListEnvelope(Admin), "A page of admins"), ...guardedErrors(400) },
  }),
  async (c) => c.json(listOf("admins", await listAdmins(c.var.services.db, pageRequest(c.req.valid("query"))), adminView), 200),
);

adminRoutes.openapi(
  createRoute({
    method: "get",
    path: "/admins/{id}",
    summary: "Get an admin user",
    middleware: [permit("admins")],
    request: { params: IdParam(AdminId) },
    responses: { 200: json(Admin, "The admin"), ...guardedErrors(400, 404) },
  }),
  async (c) => c.json(adminView(await loadAdmin(c.var.services, c.req.valid("param").id)), 200),
);

adminRoutes.openapi(
  createRoute({
    method: "patch",
    path: "/admins/{id}",
    summary: "Change an admin's role or password",
    description:
      "A role change applies to the admin's current tokens at once (roles are read from D1 on every call). A password change ends every token the admin holds: they sign in again. " +
      `A step-up action (401 reauthentication_required when the owner's authentication is more than ${STEP_UP_SECONDS / 60} minutes old).`,
    middleware: [permit("admins"), stepUp()],
    request: { params: IdParam(AdminId), body: jsonBody(AdminUpdate) },
    responses: { 200: json(Admin, "The admin"), ...guardedErrors(400, 404, 409) },
  }),
  async (c) => {
    const change = c.req.valid("json");
    const current = await loadAdmin(c.var.services, c.req.valid("param").id);
    if (change.role !== undefined && change.role !== "owner") await assertNotLastOwner(c.var.services, current);
    const now = c.var.services.clock.now();
    const password = change.password !== undefined ? await hashPassword(change.password) : undefined;
    // The audit trail says that the password changed, never what to.
    const details = { ...(change.role !== undefined ? { role: change.role } : {}), ...(password ? { password_changed: true } : {}) };
    const [updated] = await c.var.services.db.batch<AdminRow>([
      updateAdmin(c.var.services.db, current.id, { role: change.role, password }, now),
      auditStatement(c.var.services.db, actorOf(c), "admin.updated", adminResource(current), now, details, { ifChanged: true }),
    ]);
    const row = updated?.results[0];
    if (!row) throw new ApiError("not_found", "No such admin.");
    return c.json(adminView(row), 200);
  },
);

adminRoutes.openapi(
  createRoute({
    method: "delete",
    path: "/admins/{id}",
    summary: "Delete an admin user",
    description: "Immediate: the admin's tokens stop working on their next call, and their second factors are removed. A step-up action.",
    middleware: [permit("admins"), stepUp()],
    request: { params: IdParam(AdminId) },
    responses: { 204: { description: "Deleted" }, ...guardedErrors(400, 404, 409) },
  }),
  async (c) => {
    const row = await loadAdmin(c.var.services, c.req.valid("param").id);
    await assertNotLastOwner(c.var.services, row);
    const now = c.var.services.clock.now();
    const { db } = c.var.services;
    await db.batch([
      deleteAdmin(db, row.id),
      auditStatement(db, actorOf(c), "admin.deleted", adminResource(row), now, { email: row.email }, { ifChanged: true }),
      revokeSessionsOf(db, row.id, now),
      ...deleteFactorsOf(db, row.id),
    ]);
    return c.body(null, 204);
  },
);

adminRoutes.openapi(
  createRoute({
    method: "delete",
    path: "/admins/{id}/second-factors",
    summary: "Remove an admin's second factors",
    description:
      "For an admin who lost their authenticator app, passkeys and recovery codes: removes all of them and ends the admin's sessions, so they sign in with the password alone " +
      "(and enrol again; at once when every admin must have a second factor). Owners only, and a step-up action.",
    middleware: [permit("admins"), stepUp()],
    request: { params: IdParam(AdminId) },
    responses: { 204: { description: "Removed" }, ...guardedErrors(400, 404) },
  }),
  async (c) => {
    const row = await loadAdmin(c.var.services, c.req.valid("param").id);
    const { db } = c.var.services;
    const now = c.var.services.clock.now();
    await db.batch([
      ...deleteFactorsOf(db, row.id),
      revokeSessionsOf(db, row.id, now),
      auditStatement(db, actorOf(c), "admin.second_factors_reset", adminResource(row), now, { email: row.email }),
    ]);
    return c.body(null, 204);
  },
);
