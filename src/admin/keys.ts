import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { actorOf, type AdminEnv } from "./context";
import { createKey, deleteKey, loadKey, revokeKey, type Actor } from "./key-lifecycle";
import { ErrorEnvelope, IdParam, Key, KeyCreate, KeyId, KeyWithSecret } from "./schemas";
import { validationHook } from "./validation";
import { keyView } from "./views";

export const keyRoutes = new OpenAPIHono<AdminEnv>({ defaultHook: validationHook });

const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { "application/json": { schema } } });
const errors = {
  400: json(ErrorEnvelope, "Invalid request"),
  404: json(ErrorEnvelope, "No such key"),
  409: json(ErrorEnvelope, "The key is deleted"),
};

export function actor(c: Context<AdminEnv>): Actor {
  return { ...actorOf(c.var.principal), requestId: c.var.requestId };
}

keyRoutes.openapi(
  createRoute({
    method: "post",
    path: "/keys",
    summary: "Create a key",
    description: "Returns the key itself once, in `key`. Only its SHA-256 hash is stored.",
    request: { body: { content: { "application/json": { schema: KeyCreate } }, required: true } },
    responses: { 201: json(KeyWithSecret, "The new key, with its plaintext"), ...errors },
  }),
  async (c) => {
    const { row, plaintext } = await createKey(c.env, c.var.config, actor(c), c.req.valid("json"));
    return c.json({ ...keyView(row), key: plaintext }, 201);
  },
);

keyRoutes.openapi(
  createRoute({
    method: "get",
    path: "/keys/{id}",
    summary: "Get a key",
    request: { params: IdParam(KeyId) },
    responses: { 200: json(Key, "The key"), ...errors },
  }),
  async (c) => c.json(keyView(await loadKey(c.env, c.req.valid("param").id)), 200),
);

keyRoutes.openapi(
  createRoute({
    method: "post",
    path: "/keys/{id}/revoke",
    summary: "Revoke a key",
    description: "Immediate everywhere: the very next request with the key gets 401 revoked_key.",
    request: { params: IdParam(KeyId) },
    responses: { 200: json(Key, "The revoked key"), ...errors },
  }),
  async (c) => {
    const row = await revokeKey(c.env, actor(c), await loadKey(c.env, c.req.valid("param").id));
    return c.json(keyView(row), 200);
  },
);

keyRoutes.openapi(
  createRoute({
    method: "delete",
    path: "/keys/{id}",
    summary: "Delete a key",
    description: "Immediate everywhere: the very next request with the key gets 401 invalid_key.",
    request: { params: IdParam(KeyId) },
    responses: { 204: { description: "Deleted" }, ...errors },
  }),
  async (c) => {
    await deleteKey(c.env, actor(c), await loadKey(c.env, c.req.valid("param").id));
    return c.body(null, 204);
  },
);
