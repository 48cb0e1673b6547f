import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { namesOf } from "../store/name-repo";
import type { AdminEnv } from "./context";
import { permit } from "./permissions";
import { guardedErrors, json } from "./responses";
import { AdminId, KeyId, TenantId } from "./schemas";
import { validationHook } from "./validation";

export const nameRoutes = new OpenAPIHono<AdminEnv>({ defaultHook: validationHook });

/** As many ids as the largest page of any list holds. */
const MAX_IDS = 100;

const Id = z.union([AdminId, TenantId, KeyId]);

const Names = z
  .object({
    object: z.literal("list"),
    data: z.array(
      z.object({
        id: z.string(),
        type: z.enum(["admin", "tenant", "api_key"]),
        name: z.string().nullable().openapi({ description: "An admin's email, a tenant's name, a key's name (null when it has none)." }),
        display: z.string().nullable().openapi({ description: "A key's display form; null for the others." }),
        tenant_id: z.string().nullable().openapi({ description: "The tenant a key or tenant belongs to; null for an admin." }),
      }),
    ),
  })
  .openapi("Names");

nameRoutes.openapi(
  createRoute({
    method: "get",
    path: "/names",
    summary: "Name ids",
    description:
      "What admin, tenant and key ids stand for, to show records that hold ids (the audit trail's actors and resources) in words. " +
      "Ids that name nothing (a removed admin) are left out. Admins' emails are shown to every role that reads the audit trail, which names them anyway.",
    middleware: [permit("read")],
    request: {
      query: z.strictObject({
        ids: z
          .string()
          .transform((value) => [...new Set(value.split(",").filter(Boolean))])
          .pipe(z.array(Id).min(1).max(MAX_IDS))
          .openapi({ type: "string", description: `Comma-separated admin (adm_…), tenant (ten_…) and key (key_…) ids, at most ${MAX_IDS}.`, example: "adm_4Qv8S9zq1Ld0,key_6Bq0Yl2N3pXzZk1VwR4s" }),
      }),
    },
    responses: { 200: json(Names, "The ids that name something"), ...guardedErrors(400) },
  }),
  async (c) => {
    const ids = c.req.valid("query").ids;
    const rows = await namesOf(c.var.services.db, {
      admins: ids.filter((id) => id.startsWith("adm_")),
      tenants: ids.filter((id) => id.startsWith("ten_")),
      keys: ids.filter((id) => id.startsWith("key_")),
    });
    return c.json({ object: "list" as const, data: rows }, 200);
  },
);
