import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { ApiError } from "../http/errors";
import { keyGuard } from "../ratelimit/guard-client";
import type { AdminKeyRow } from "../store/key-repo";
import { listKeys } from "../store/key-repo";
import { actorOf } from "./audit-trail";
import type { AdminEnv } from "./context";
import { assertWithin, callerBounds, resolveSettings } from "./key-bounds";
import { createKey, deleteKey, loadKey, revokeKey, rotateKey, strengthOf, updateKey } from "./key-lifecycle";
import { listOf, ListEnvelope, pageParams, pageRequest } from "./pagination";
import { ownEnvironment, ownTenant, permit } from "./permissions";
import { errors, json, jsonBody } from "./responses";
import { Environment, IdParam, Key, KeyCreate, KeyId, KeyRotate, KeyUpdate, KeyUsage, KeyWithSecret, TenantId } from "./schemas";
import { validationHook } from "./validation";
import { keyView, usageView } from "./views";

export const keyRoutes = new OpenAPIHono<AdminEnv>({ defaultHook: validationHook });

const SELF_SERVICE_NOTE =
  "Also open to a tenant's API key with the scope `keys:manage`, for its own tenant's keys of its own environment.";
const NO_STRONGER_NOTE =
  "A tenant's key may only issue keys no stronger than itself (403 insufficient_permissions otherwise): its own environment, scopes it holds, " +
  "expiring no later than itself, a rate limit no higher than its own (neither the limit nor limit per window). " +
  "What it omits defaults to its own environment, expiry and rate limit.";

/**
 * A key the caller may see. Another tenant's key, or for a tenant's key one of the other
 * environment, reads exactly like a key that does not exist, so a tenant's key cannot learn which
 * ids are real.
 */
async function visibleKey(c: Context<AdminEnv>, id: string): Promise<AdminKeyRow> {
  const row = await loadKey(c.env, id);
  const tenant = ownTenant(c.var.principal);
  const environment = ownEnvironment(c.var.principal);
  if ((tenant !== null && row.tenant_id !== tenant) || (environment !== null && row.environment !== environment)) {
    throw new ApiError("not_found", "No such key.");
  }
  return row;
}

keyRoutes.openapi(
  createRoute({
    method: "post",
    path: "/keys",
    summary: "Create a key",
    description: `Returns the key itself once, in \`key\`. Only its SHA-256 hash is stored. ${SELF_SERVICE_NOTE} ${NO_STRONGER_NOTE}`,
    middleware: [permit("write", { selfService: true })],
    request: { body: jsonBody(KeyCreate) },
    responses: { 201: json(KeyWithSecret, "The new key, with its plaintext"), ...errors(400, 401, 403, 404) },
  }),
  async (c) => {
    const input = c.req.valid("json");
    const tenant = ownTenant(c.var.principal);
    if (tenant !== null && input.tenant_id !== tenant) throw new ApiError("not_found", "No such tenant.", { field: "tenant_id" });
    const settings = resolveSettings(input, await callerBounds(c), c.var.config);
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
        environment: Environment.optional(),
        status: z.enum(["active", "expired", "revoked", "deleted"]).optional(),
        ...pageParams("keys"),
      }),
    },
    responses: { 200: json(ListEnvelope(Key), "A page of keys"), ...errors(400, 401, 403) },
  }),
  async (c) => {
    const query = c.req.valid("query");
    const own = ownTenant(c.var.principal);
    const ownEnv = ownEnvironment(c.var.principal);
    // Another tenant's keys, and those of the other environment, are to a tenant's key simply not there.
    const foreignTenant = own !== null && query.tenant_id !== undefined && query.tenant_id !== own;
    const foreignEnvironment = ownEnv !== null && query.environment !== undefined && query.environment !== ownEnv;
    if (foreignTenant || foreignEnvironment) {
      return c.json({ object: "list" as const, data: [], has_more: false, next_cursor: null }, 200);
    }
    const page = await listKeys(
      c.env.DB,
      { tenantId: own ?? query.tenant_id, environment: ownEnv ?? query.environment, status: query.status },
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
    description:
      "Only the fields sent change. Scopes, expiry and rate limit are written to the key's Durable Object before this returns: the very next request with the key sees the change. 409 if the key is (or meanwhile became) revoked or deleted.",
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
    description: `A new key with the same settings, shown once. The old key keeps working for \`grace_seconds\` (default 0: it fails as expired at once). Revoked, deleted, expired or already rotated keys cannot be rotated (409); of two concurrent rotations of one key, one succeeds and the other gets 409. ${SELF_SERVICE_NOTE} A tenant's key may only rotate keys no stronger than itself (403).`,
    middleware: [permit("write", { selfService: true })],
    request: { params: IdParam(KeyId), body: jsonBody(KeyRotate, false) },
    responses: { 201: json(KeyWithSecret, "The new key, with its plaintext"), ...errors(400, 401, 403, 404, 409) },
  }),
  async (c) => {
    // The body is optional; without one the validator hands over {} and the default applies here.
    const graceSeconds = c.req.valid("json").grace_seconds ?? 0;
    const row = await visibleKey(c, c.req.valid("param").id);
    const bounds = await callerBounds(c);
    if (bounds) assertWithin(bounds, strengthOf(row));
    const { row: next, plaintext } = await rotateKey(c.env, c.var.config, actorOf(c), row, graceSeconds);
    return c.json({ ...keyView(next), key: plaintext }, 201);
  },
);

keyRoutes.openapi(
  createRoute({
    method: "post",
    path: "/keys/{id}/revoke",
    summary: "Revoke a key",
    description: `Immediate everywhere: the very next request with the key gets 401 revoked_key. Revoking a revoked key changes nothing (200). ${SELF_SERVICE_NOTE}`,
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
    description: "Immediate everywhere: the very next request with the key gets 401 invalid_key. Deleting a deleted key changes nothing (204).",
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
