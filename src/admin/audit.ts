import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { listAuditEvents } from "../store/audit-repo";
import type { AdminEnv } from "./context";
import { listOf, ListEnvelope, pageParams, pageRequest } from "./pagination";
import { permit } from "./permissions";
import { guardedErrors, json } from "./responses";
import { AuditEvent, TenantId } from "./schemas";
import { validationHook } from "./validation";
import { auditView } from "./views";

export const auditRoutes = new OpenAPIHono<AdminEnv>({ defaultHook: validationHook });

// Up to an email's length: a failed sign-in is filed under the email it tried.
const Id = z.string().min(1).max(254);

auditRoutes.openapi(
  createRoute({
    method: "get",
    path: "/audit-events",
    summary: "List audit events",
    description:
      "Every admin change, newest first: who (actor), what (action), which resource, when, and the request id (x-request-id of the call that made it). " +
      "Also sign-ins: `admin.signed_in` (and `admin.signed_out` from the console), and `signin.failed` (reason `invalid_credentials` for a wrong password and an unknown email alike) and `signin.throttled` (once when a limit starts refusing) with the client's address as the actor " +
      "(`unknown` when none is known or LOG_CLIENT_IPS=false). A wrong current password of `POST /account/password` is a `signin.failed` too (`details.check` `password_change`), with the admin as the actor.",
    middleware: [permit("read")],
    request: {
      query: z.strictObject({
        resource_id: Id.optional().openapi({ example: "key_6Bq0Yl2N3pXzZk1VwR4s" }),
        action: z.string().regex(/^[a-z_]+\.[a-z_]+$/, 'must look like "key.revoked"').optional(),
        actor_id: Id.optional().openapi({ description: '"root", an admin id (adm_…), a key id (key_…), or a client address (failed sign-ins; "unknown" when none is kept).' }),
        tenant_id: TenantId.optional(),
        request_id: z.string().regex(/^req_[0-9A-Za-z]{1,64}$/, "must be a request id (req_…)").optional().openapi({
          description: "The x-request-id of the call that made the change.",
        }),
        ...pageParams("audit_events"),
      }),
    },
    responses: { 200: json(ListEnvelope(AuditEvent), "A page of audit events"), ...guardedErrors(400) },
  }),
  async (c) => {
    const query = c.req.valid("query");
    const page = await listAuditEvents(
      c.var.services.db,
      { resourceId: query.resource_id, action: query.action, actorId: query.actor_id, tenantId: query.tenant_id, requestId: query.request_id },
      pageRequest(query),
    );
    return c.json(listOf("audit_events", page, auditView), 200);
  },
);
