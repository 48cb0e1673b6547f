import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { defaultGrantTypes, grantTypeList } from "../authority/oauth";
import type { ClientChange } from "../store/oauth-client-repo";
import { listClients } from "../store/oauth-client-repo";
import { changeClient, createClient, deleteClient, loadClient, rotateClientSecret } from "../oauth/clients";
import { actorOf } from "./audit-trail";
import type { AdminEnv } from "./context";
import { FANOUT_BUDGET } from "../guards/guard-client";
import { listOf, ListEnvelope, pageParams, pageRequest } from "./pagination";
import { permit } from "./permissions";
import { guardedErrors, json, jsonBody } from "./responses";
import { ClientId, OAuthClient, OAuthClientCreate, OAuthClientUpdate, OAuthClientUpdated, OAuthClientWithSecret } from "./oauth-schemas";
import { IdParam, TenantId } from "./schemas";
import { validationHook } from "./validation";
import { oauthClientView } from "./views";

/** The apps a tenant registered to act for its users (see docs/oauth.md). Every change is audited. */
export const oauthClientRoutes = new OpenAPIHono<AdminEnv>({ defaultHook: validationHook });

oauthClientRoutes.openapi(
  createRoute({
    method: "post",
    path: "/oauth-clients",
    summary: "Register an OAuth client (a third-party app)",
    description:
      "Answers the `client_id` and, for a confidential client, its `client_secret` once (only its SHA-256 is stored). " +
      "`scopes` are what the app may be granted: named scopes only, never `*` or `keys:manage`.",
    middleware: [permit("write")],
    request: { body: jsonBody(OAuthClientCreate) },
    responses: { 201: json(OAuthClientWithSecret, "The client, with its secret if confidential"), ...guardedErrors(400, 404) },
  }),
  async (c) => {
    const input = c.req.valid("json");
    const { services } = c.var;
    const { limit, windowSeconds } = input.rate_limit ? { limit: input.rate_limit.limit, windowSeconds: input.rate_limit.window_seconds } : services.config.defaultRateLimit;
    const owner = { type: input.type, tenantId: input.tenant_id };
    const { client, secret } = await createClient(services, actorOf(c), {
      ...owner,
      name: input.name,
      redirectUris: input.redirect_uris,
      scopes: input.scopes,
      grantTypes: input.grant_types ? grantTypeList(input.grant_types) : defaultGrantTypes(owner),
      limit,
      windowSeconds,
    });
    return c.json({ ...oauthClientView(client), ...(secret === null ? {} : { client_secret: secret }) }, 201);
  },
);

oauthClientRoutes.openapi(
  createRoute({
    method: "get",
    path: "/oauth-clients",
    summary: "List OAuth clients",
    description: "Newest first; deleted clients are not listed.",
    middleware: [permit("read")],
    request: { query: z.strictObject({ tenant_id: TenantId.optional(), ...pageParams("oauth_clients") }) },
    responses: { 200: json(ListEnvelope(OAuthClient), "A page of clients"), ...guardedErrors(400) },
  }),
  async (c) => {
    const query = c.req.valid("query");
    const page = await listClients(c.var.services.db, { tenantId: query.tenant_id }, pageRequest(query));
    return c.json(listOf("oauth_clients", page, oauthClientView), 200);
  },
);

oauthClientRoutes.openapi(
  createRoute({
    method: "get",
    path: "/oauth-clients/{id}",
    summary: "Get an OAuth client",
    middleware: [permit("read")],
    request: { params: IdParam(ClientId) },
    responses: { 200: json(OAuthClient, "The client"), ...guardedErrors(400, 404) },
  }),
  async (c) => c.json(oauthClientView(await loadClient(c.var.services, c.req.valid("param").id)), 200),
);

oauthClientRoutes.openapi(
  createRoute({
    method: "patch",
    path: "/oauth-clients/{id}",
    summary: "Change an OAuth client's name, redirect URIs, scopes or rate limit",
    description:
      "Only the fields sent change. Scopes and rate limit reach every live grant of the client before this answers: a scope the app may no longer be granted " +
      `is gone from its tokens on their very next request. One call changes at most ${FANOUT_BUDGET} grants; a client with more gets 202 with \`fanout.pending: true\`: repeat the same PATCH until 200.`,
    middleware: [permit("write")],
    request: { params: IdParam(ClientId), body: jsonBody(OAuthClientUpdate) },
    responses: {
      200: json(OAuthClientUpdated, "The client; every grant follows it"),
      202: json(OAuthClientUpdated, "The client; some grants still have the old settings: repeat the request"),
      ...guardedErrors(400, 404),
    },
  }),
  async (c) => {
    const input = c.req.valid("json");
    const { services } = c.var;
    const client = await loadClient(services, c.req.valid("param").id);
    const change: ClientChange = {
      name: input.name,
      redirectUris: input.redirect_uris,
      scopes: input.scopes,
      limit: input.rate_limit?.limit,
      windowSeconds: input.rate_limit?.window_seconds,
    };
    const { client: changed, fanout } = await changeClient(services, actorOf(c), client, change, input);
    const view = { ...oauthClientView(changed), ...(fanout ? { fanout: { pending: fanout.pending } } : {}) };
    return fanout?.pending ? c.json(view, 202) : c.json(view, 200);
  },
);

oauthClientRoutes.openapi(
  createRoute({
    method: "post",
    path: "/oauth-clients/{id}/secret",
    summary: "Give a confidential client a new secret",
    description: "The new `client_secret` is shown once; the old one stops working at once. 409 for a public client, which has none.",
    middleware: [permit("write")],
    request: { params: IdParam(ClientId) },
    responses: { 200: json(OAuthClientWithSecret, "The client, with its new secret"), ...guardedErrors(400, 404, 409) },
  }),
  async (c) => {
    const { services } = c.var;
    const client = await loadClient(services, c.req.valid("param").id);
    const secret = await rotateClientSecret(services, actorOf(c), client);
    return c.json({ ...oauthClientView(await loadClient(services, client.id)), client_secret: secret }, 200);
  },
);

oauthClientRoutes.openapi(
  createRoute({
    method: "delete",
    path: "/oauth-clients/{id}",
    summary: "Delete an OAuth client, ending every grant it holds",
    description:
      "Immediate everywhere: no new authorization or token for the app, and the very next request with any of its tokens gets 401 revoked_token. " +
      `One call revokes at most ${FANOUT_BUDGET} grants; with more it answers 202: repeat the DELETE until 204. Deleting a deleted client continues that (204 when none remain).`,
    middleware: [permit("write")],
    request: { params: IdParam(ClientId) },
    responses: {
      204: { description: "Deleted; every grant of it is revoked" },
      202: json(z.object({ object: z.literal("oauth_client"), id: z.string(), fanout: z.object({ pending: z.literal(true) }) }), "Deleted; more grants remain: repeat the request"),
      ...guardedErrors(400, 404),
    },
  }),
  async (c) => {
    const id = c.req.valid("param").id;
    const { pending } = await deleteClient(c.var.services, actorOf(c), id);
    return pending ? c.json({ object: "oauth_client" as const, id, fanout: { pending: true as const } }, 202) : c.body(null, 204);
  },
);
