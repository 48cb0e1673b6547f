import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { ApiError } from "../http/errors";
import { hashPassword } from "../identity/passwords";
import { prefixedId } from "../keys/random";
import type { Services } from "../services";
import { countOwners, deleteAdmin, getAdmin, getAdminByEmail, insertAdmin, listAdmins, updateAdmin, type AdminRow } from "../store/admin-repo";
import { actorOf, adminResource, auditStatement } from "./audit-trail";
import type { AdminEnv } from "./context";
import { listOf, ListEnvelope, pageParams, pageRequest } from "./pagination";
import { permit } from "./permissions";
import { guardedErrors, json, jsonBody } from "./responses";
import { Admin, AdminCreate, AdminId, AdminUpdate, IdParam } from "./schemas";
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
    description: "Owners only (or the ADMIN_TOKEN, which is how the first owner is created). The password is stored as a PBKDF2-SHA256 verifier.",
    middleware: [permit("admins")],
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
      if (String(error).includes("UNIQUE")) throw emailTaken();
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
      "A role change applies to the admin's current tokens at once (roles are read from D1 on every call). A password change ends every token the admin holds: they sign in again.",
    middleware: [permit("admins")],
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
    description: "Immediate: the admin's tokens stop working on their next call.",
    middleware: [permit("admins")],
    request: { params: IdParam(AdminId) },
    responses: { 204: { description: "Deleted" }, ...guardedErrors(400, 404, 409) },
  }),
  async (c) => {
    const row = await loadAdmin(c.var.services, c.req.valid("param").id);
    await assertNotLastOwner(c.var.services, row);
    const now = c.var.services.clock.now();
    await c.var.services.db.batch([
      deleteAdmin(c.var.services.db, row.id),
      auditStatement(c.var.services.db, actorOf(c), "admin.deleted", adminResource(row), now, { email: row.email }, { ifChanged: true }),
    ]);
    return c.body(null, 204);
  },
);
