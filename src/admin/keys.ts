import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { Key } from "../authority/key";
import { ApiError } from "../http/errors";
import type { Services } from "../services";
import { listKeys } from "../store/key-repo";
import { lastUsedAt, lastUsedOf } from "../store/usage-repo";
import { actorOf } from "./audit-trail";
import type { AdminEnv, Principal } from "./context";
import { assertWithin, issuerOf, resolveSettings, strengthOf, takeCredits } from "./key-bounds";
import { createKey, creditsLeft, deleteKey, loadKey, revokeKey, rotateKey, updateKey } from "./key-lifecycle";
import { listOf, ListEnvelope, pageParams, pageRequest } from "./pagination";
import { ownEnvironment, ownTenant, permit } from "./permissions";
import { guardedErrors, json, jsonBody } from "./responses";
import { ApiKey, ApiKeyWithSecret, IdParam, KeyCreate, KeyId, KeyRotate, KeyUpdate, ScopeCatalog, TenantId } from "./schemas";
import { DEFAULT_SCOPES, SELF_SERVICE_SCOPE } from "../authority/scopes";
import { Environment, KeyState } from "../authority/wire";
import { validationHook } from "./validation";
import { keyView } from "./views";

export const keyRoutes = new OpenAPIHono<AdminEnv>({ defaultHook: validationHook });

export const SELF_SERVICE_NOTE =
  "Also open to a tenant's API key with the scope `keys:manage`, for its own tenant's keys of its own environment.";
const NO_STRONGER_NOTE =
  "A tenant's key may only issue keys no stronger than itself (403 insufficient_permissions otherwise): its own environment, scopes it holds, " +
  "expiring no later than itself, for each of its own windows one no higher (neither the limit nor limit per window), and, if it spends credits, " +
  "credits no more than it has left, with no refill for a key it issues (a key it rotates keeps one no larger and no more frequent than its own). " +
  "What it omits defaults to its own environment, expiry and windows. Credits it gives are taken from its own before the key is issued " +
  "(403 if it no longer has them, and nothing is made); one that spends credits must give `credits` (400 without).";

/**
 * A key the caller may see. Another tenant's key, or for a tenant's key one of the other
 * environment, reads exactly like a key that does not exist, so a tenant's key cannot learn which
 * ids are real.
 */
export async function visibleKey(services: Services, principal: Principal, id: string): Promise<Key> {
  const key = await loadKey(services, id);
  const tenant = ownTenant(principal);
  const environment = ownEnvironment(principal);
  if ((tenant !== null && key.tenantId !== tenant) || (environment !== null && key.environment !== environment)) {
    throw new ApiError("not_found", "No such key.");
  }
  return key;
}

/** One key as the API shows it: its last use, and the credits its object counts now. */
async function keyViewNow(services: Services, key: Key) {
  const [lastUsed, credits] = await Promise.all([lastUsedAt(services.db, key.id), creditsLeft(services, key)]);
  return keyView(key, services.clock.now(), lastUsed, credits);
}

keyRoutes.openapi(
  createRoute({
    method: "post",
    path: "/keys",
    summary: "Create a key",
    description: `Returns the key itself once, in \`key\`. Only its SHA-256 hash is stored. ${SELF_SERVICE_NOTE} ${NO_STRONGER_NOTE}`,
    middleware: [permit("write", { selfService: true })],
    request: { body: jsonBody(KeyCreate) },
    responses: { 201: json(ApiKeyWithSecret, "The new key, with its plaintext"), ...guardedErrors(400, 404) },
  }),
  async (c) => {
    const input = c.req.valid("json");
    const tenant = ownTenant(c.var.principal);
    if (tenant !== null && input.tenant_id !== tenant) throw new ApiError("not_found", "No such tenant.", { field: "tenant_id" });
    const { services, principal } = c.var;
    const issuer = await issuerOf(services, principal);
    const settings = resolveSettings(input, issuer?.strength ?? null, services);
    const refund = issuer ? await takeCredits(services, issuer, settings) : null;
    const { key, plaintext } = await createKey(services, actorOf(c), settings, refund);
    return c.json({ ...keyView(key, services.clock.now(), null, key.creditsSet), key: plaintext }, 201);
  },
);

keyRoutes.openapi(
  createRoute({
    method: "get",
    path: "/keys",
    summary: "List keys",
    description:
      "Newest first; never the keys themselves, only their display form. Without `status`, every key that is not deleted. " +
      `Credits show their plan only (\`remaining\` is null): GET one key for what it has left. ${SELF_SERVICE_NOTE}`,
    middleware: [permit("read", { selfService: true })],
    request: {
      query: z.strictObject({
        tenant_id: TenantId.optional(),
        environment: Environment.optional(),
        status: KeyState.optional(),
        ...pageParams("keys"),
      }),
    },
    responses: { 200: json(ListEnvelope(ApiKey), "A page of keys"), ...guardedErrors(400) },
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
    const { services } = c.var;
    const now = services.clock.now();
    const page = await listKeys(services.db, { tenantId: own ?? query.tenant_id, environment: ownEnv ?? query.environment, status: query.status }, pageRequest(query), now);
    const lastUse = await lastUsedOf(services.db, page.rows.map((key) => key.id));
    return c.json(listOf("keys", page, (key) => keyView(key, now, lastUse.get(key.id) ?? null)), 200);
  },
);

keyRoutes.openapi(
  createRoute({
    method: "get",
    path: "/keys/{id}",
    summary: "Get a key",
    description: `With the credits it has left, as its Durable Object counts them. ${SELF_SERVICE_NOTE}`,
    middleware: [permit("read", { selfService: true })],
    request: { params: IdParam(KeyId) },
    responses: { 200: json(ApiKey, "The key"), ...guardedErrors(400, 404) },
  }),
  async (c) => {
    const { services } = c.var;
    const key = await visibleKey(services, c.var.principal, c.req.valid("param").id);
    return c.json(await keyViewNow(services, key), 200);
  },
);

keyRoutes.openapi(
  createRoute({
    method: "patch",
    path: "/keys/{id}",
    summary: "Change a key's name, description, scopes, expiry, rate limits or credits",
    description:
      "Only the fields sent change. Scopes, expiry, rate limits and credits are written to the key's Durable Object before this returns: the very next request with the key sees the change " +
      "(credits given set what the key has from then; windows given replace all of its windows). 409 if the key is (or meanwhile became) revoked or deleted.",
    middleware: [permit("write")],
    request: { params: IdParam(KeyId), body: jsonBody(KeyUpdate) },
    responses: { 200: json(ApiKey, "The key"), ...guardedErrors(400, 404, 409) },
  }),
  async (c) => {
    const input = c.req.valid("json");
    const { services } = c.var;
    const key = await updateKey(services, actorOf(c), await loadKey(services, c.req.valid("param").id), input);
    return c.json(await keyViewNow(services, key), 200);
  },
);

keyRoutes.openapi(
  createRoute({
    method: "post",
    path: "/keys/{id}/rotate",
    summary: "Rotate a key",
    description: `A new key with the same settings, shown once. The old key keeps working for \`grace_seconds\` (default 0: it fails as expired at once). Revoked, deleted, expired or already rotated keys cannot be rotated (409); of two concurrent rotations of one key, one succeeds and the other gets 409. ${SELF_SERVICE_NOTE} A tenant's key may only rotate keys no stronger than itself (403). Windows and credits carry over; credits move: the new key has what the old one had left, the old key none.`,
    middleware: [permit("write", { selfService: true })],
    request: { params: IdParam(KeyId), body: jsonBody(KeyRotate, false) },
    responses: { 201: json(ApiKeyWithSecret, "The new key, with its plaintext"), ...guardedErrors(400, 404, 409) },
  }),
  async (c) => {
    // The body is optional; without one the validator hands over {} and the default applies here.
    const graceSeconds = c.req.valid("json").grace_seconds ?? 0;
    const { services, principal } = c.var;
    const key = await visibleKey(services, principal, c.req.valid("param").id);
    const issuer = await issuerOf(services, principal);
    if (issuer) assertWithin(issuer.strength, await strengthOf(services, key));
    const { key: next, plaintext } = await rotateKey(services, actorOf(c), key, graceSeconds);
    return c.json({ ...keyView(next, services.clock.now(), null, next.creditsSet), key: plaintext }, 201);
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
    responses: { 200: json(ApiKey, "The revoked key"), ...guardedErrors(400, 404, 409) },
  }),
  async (c) => {
    const { services, principal } = c.var;
    const key = await revokeKey(services, actorOf(c), await visibleKey(services, principal, c.req.valid("param").id));
    return c.json(await keyViewNow(services, key), 200);
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
    responses: { 204: { description: "Deleted" }, ...guardedErrors(400, 404) },
  }),
  async (c) => {
    const { services } = c.var;
    await deleteKey(services, actorOf(c), await loadKey(services, c.req.valid("param").id));
    return c.body(null, 204);
  },
);

keyRoutes.openapi(
  createRoute({
    method: "get",
    path: "/scopes",
    summary: "The scopes keys can be given here",
    description:
      "What a new key is offered: the scopes ROUTE_SCOPES asks for (in its order), the defaults a route without a rule needs (`read` for GET/HEAD/OPTIONS, `write` otherwise), " +
      "and the self-service scope. Any other scope of the right form may be given too. For the console's key form.",
    middleware: [permit("read")],
    request: { query: z.strictObject({}) },
    responses: { 200: json(ScopeCatalog, "The scopes"), ...guardedErrors(400) },
  }),
  (c) => {
    const configured = [...new Set(c.var.services.config.routeScopes.map((rule) => rule.scope))];
    return c.json({ object: "scopes" as const, configured, defaults: [...DEFAULT_SCOPES], self_service: SELF_SERVICE_SCOPE }, 200);
  },
);
