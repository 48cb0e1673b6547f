import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { ApiError } from "../http/errors";
import { keyGuard } from "../ratelimit/guard-client";
import { hasScope } from "../ratelimit/policy";
import type { AdminKeyRow } from "../store/key-repo";
import { listKeys } from "../store/key-repo";
import { actorOf } from "./audit-trail";
import type { AdminEnv } from "./context";
import { createKey, deleteKey, loadKey, revokeKey, rotateKey, updateKey } from "./key-lifecycle";
import { listOf, ListEnvelope, pageParams, pageRequest } from "./pagination";
import { ownTenant, permit } from "./permissions";
import { errors, json, jsonBody } from "./responses";
import { IdParam, Key, KeyCreate, KeyId, KeyRotate, KeyUpdate, KeyUsage, KeyWithSecret, TenantId } from "./schemas";
import { validationHook } from "./validation";
import { keyView, usageView } from "./views";

export const keyRoutes = new OpenAPIHono<AdminEnv>({ defaultHook: validationHook });

const SELF_SERVICE_NOTE = "Also open to a tenant's API key with the scope `keys:manage`, for its own tenant's keys.";

/**
 * A key the caller may see. Another tenant's key reads exactly like a key that does not exist, so
 * a tenant's key cannot learn which ids are real.
 */
async function visibleKey(c: Context<AdminEnv>, id: string): Promise<AdminKeyRow> {
  const row = await loadKey(c.env, id);
  const tenant = ownTenant(c.var.principal);
  if (tenant !== null && row.tenant_id !== tenant) throw new ApiError("not_found", "No such key.");
  return row;
}

/** A tenant's key may only hand out keys no stronger than itself (it sees their plaintext). */
function assertScopesHeld(c: Context<AdminEnv>, scopes: string[]): void {
  const principal = c.var.principal;
  if (principal.kind !== "key") return;
  const missing = scopes.filter((scope) => !hasScope(principal.scopes, scope));
  if (missing.length > 0) {
    throw new ApiError("insufficient_permissions", "An API key may only issue keys with scopes it holds itself.", { missing_scopes: missing });
  }
}

keyRoutes.openapi(
  createRoute({
    method: "post",
    path: "/keys",
    summary: "Create a key",
    description: `Returns the key itself once, in \`key\`. Only its SHA-256 hash is stored. ${SELF_SERVICE_NOTE}`,
    middleware: [permit("write", { selfService: true })],
    request: { body: jsonBody(KeyCreate) },
    responses: { 201: json(KeyWithSecret, "The new key, with its plaintext"), ...errors(400, 401, 403, 404) },
  }),
  async (c) => {
    const settings = c.req.valid("json");
    const tenant = ownTenant(c.var.principal);
    if (tenant !== null && settings.tenant_id !== tenant) throw new ApiError("not_found", "No such tenant.", { field: "tenant_id" });
    assertScopesHeld(c, settings.scopes ?? ["read", "write"]);
    const { row, plaintext } = await createKey(c.env, c.var.config, actorOf(c), settings);
    return c.json({ ...keyView(row), key: plaintext }, 201);
  },
);

keyRoutes.openapi(
  createRoute({
    method: "get",
    path: "/keys",
    summary: "List keys",
    description: `Newest first; never the keys themselves, only their display form. Without \`status\`, every key that is not deleted. ${SELF_SERVICE_NOTE}`,
    middleware: [permit("read", { selfService: true })],
    request: {
      query: z.strictObject({
        tenant_id: TenantId.optional(),
        environment: z.enum(["live", "test"]).optional(),
        status: z.enum(["active", "expired", "revoked", "deleted"]).optional(),
        ...pageParams("keys"),
      }),
    },
    responses: { 200: json(ListEnvelope(Key), "A page of keys"), ...errors(400, 401, 403) },
  }),
  async (c) => {
    const query = c.req.valid("query");
    const own = ownTenant(c.var.principal);
    // Another tenant's keys are, to a tenant's key, simply not there.
    if (own !== null && query.tenant_id !== undefined && query.tenant_id !== own) {
      return c.json({ object: "list" as const, data: [], has_more: false, next_cursor: null }, 200);
    }
    const page = await listKeys(
      c.env.DB,
      { tenantId: own ?? query.tenant_id, environment: query.environment, status: query.status },
      pageRequest(query),
    );
    return c.json(listOf("keys", page, keyView), 200);
  },
);

keyRoutes.openapi(
  createRoute({
    method: "get",
    path: "/keys/{id}",
    summary: "Get a key",
    description: SELF_SERVICE_NOTE,
    middleware: [permit("read", { selfService: true })],
    request: { params: IdParam(KeyId) },
    responses: { 200: json(Key, "The key"), ...errors(400, 401, 403, 404) },
  }),
  async (c) => c.json(keyView(await visibleKey(c, c.req.valid("param").id)), 200),
);

keyRoutes.openapi(
  createRoute({
    method: "patch",
    path: "/keys/{id}",
    summary: "Change a key's name, description, scopes, expiry or rate limit",
    description: "Written to the key's Durable Object before this returns: the very next request with the key sees the change.",
    middleware: [permit("write")],
    request: { params: IdParam(KeyId), body: jsonBody(KeyUpdate) },
    responses: { 200: json(Key, "The key"), ...errors(400, 401, 403, 404, 409) },
  }),
  async (c) => {
    const input = c.req.valid("json");
    const row = await updateKey(c.env, actorOf(c), await loadKey(c.env, c.req.valid("param").id), input);
    return c.json(keyView(row), 200);
  },
);

keyRoutes.openapi(
  createRoute({
    method: "post",
    path: "/keys/{id}/rotate",
    summary: "Rotate a key",
    description: `A new key with the same settings, shown once. The old key keeps working for \`grace_seconds\` (default 0: it fails as expired at once). Revoked, deleted, expired or already rotated keys cannot be rotated (409). ${SELF_SERVICE_NOTE}`,
    middleware: [permit("write", { selfService: true })],
    request: { params: IdParam(KeyId), body: jsonBody(KeyRotate, false) },
    responses: { 201: json(KeyWithSecret, "The new key, with its plaintext"), ...errors(400, 401, 403, 404, 409) },
  }),
  async (c) => {
    // The body is optional; without one the validator hands over {} and the default applies here.
    const graceSeconds = c.req.valid("json").grace_seconds ?? 0;
    const row = await visibleKey(c, c.req.valid("param").id);
    assertScopesHeld(c, JSON.parse(row.scopes) as string[]);
    const { row: next, plaintext } = await rotateKey(c.env, c.var.config, actorOf(c), row, graceSeconds);
    return c.json({ ...keyView(next), key: plaintext }, 201);
  },
);

keyRoutes.openapi(
  createRoute({
    method: "post",
    path: "/keys/{id}/revoke",
    summary: "Revoke a key",
    description: `Immediate everywhere: the very next request with the key gets 401 revoked_key. ${SELF_SERVICE_NOTE}`,
    middleware: [permit("write", { selfService: true })],
    request: { params: IdParam(KeyId) },
    responses: { 200: json(Key, "The revoked key"), ...errors(400, 401, 403, 404, 409) },
  }),
  async (c) => {
    const row = await revokeKey(c.env, actorOf(c), await visibleKey(c, c.req.valid("param").id));
    return c.json(keyView(row), 200);
  },
);

keyRoutes.openapi(
  createRoute({
    method: "delete",
    path: "/keys/{id}",
    summary: "Delete a key",
    description: "Immediate everywhere: the very next request with the key gets 401 invalid_key.",
    middleware: [permit("write")],
    request: { params: IdParam(KeyId) },
    responses: { 204: { description: "Deleted" }, ...errors(400, 401, 403, 404) },
  }),
  async (c) => {
    await deleteKey(c.env, actorOf(c), await loadKey(c.env, c.req.valid("param").id));
    return c.body(null, 204);
  },
);

keyRoutes.openapi(
  createRoute({
    method: "get",
    path: "/keys/{id}/usage",
    summary: "A key's usage",
    description: `Counted by the key's Durable Object as requests are decided (no D1 write per request). ${SELF_SERVICE_NOTE}`,
    middleware: [permit("read", { selfService: true })],
    request: { params: IdParam(KeyId) },
    responses: { 200: json(KeyUsage, "Requests admitted, requests refused by the rate limit, last use"), ...errors(400, 401, 403, 404) },
  }),
  async (c) => {
    const row = await visibleKey(c, c.req.valid("param").id);
    return c.json(usageView(row.id, await keyGuard(c.env, row.id).getUsage()), 200);
  },
);
