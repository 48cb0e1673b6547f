import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { FANOUT_BUDGET } from "../guards/guard-client";
import { endGrant, endGrants, loadGrant } from "../oauth/grants";
import { completeAuthorization } from "../oauth/authorizations";
import { listGrants } from "../store/oauth-grant-repo";
import { lastUsedAt, lastUsedOf } from "../store/usage-repo";
import type { Grant } from "../authority/oauth";
import { rolesGranted } from "../authority/roles";
import type { Services } from "../services";
import { actorOf } from "./audit-trail";
import type { AdminEnv } from "./context";
import { listOf, ListEnvelope, pageParams, pageRequest } from "./pagination";
import { permit } from "./permissions";
import { guardedErrors, json, jsonBody } from "./responses";
import { AuthorizationDecision, AuthorizationRedirect, ClientId, GrantId, GrantsRevoke, GrantsRevoked, GrantState, OAuthGrant, Subject } from "./oauth-schemas";
import { IdParam, TenantId } from "./schemas";
import { validationHook } from "./validation";
import { grantView } from "./views";

/** What users let apps do (grants), and the consent page's completion of an authorization. */
export const oauthGrantRoutes = new OpenAPIHono<AdminEnv>({ defaultHook: validationHook });

/** A grant as the API shows it, with its last use as of now. */
async function grantViewNow(services: Services, grant: Grant) {
  return grantView(grant, await lastUsedAt(services.db, grant.id));
}

oauthGrantRoutes.openapi(
  createRoute({
    method: "post",
    path: "/oauth-authorizations",
    summary: "Complete an OAuth authorization (the consent page)",
    description:
      "The operator's consent page calls this after signing its user in and asking them: `approve` with the tenant the user belongs to, the user's subject id and the scopes " +
      "they approved (some or all of those the app asked for, never more, and only what the app may still be granted), or `deny`. " +
      "Answers where to send the browser: back to the app with a single-use code (valid 60 seconds) or with `error=access_denied`. " +
      "A request completes once (409 after) and expires 10 minutes after the app started it (400). " +
      `Open to the root token and the roles ${rolesGranted("authorize").join(", ")} (\`authorizer\`, for a consent page, may do nothing else).`,
    middleware: [permit("authorize")],
    request: { body: jsonBody(AuthorizationDecision) },
    responses: { 200: json(AuthorizationRedirect, "Where the browser goes next"), ...guardedErrors(400, 404, 409) },
  }),
  async (c) => {
    const input = c.req.valid("json");
    const decision = input.decision === "approve" ? { decision: input.decision, tenantId: input.tenant_id, subject: input.subject, scopes: input.scopes } : input;
    const redirectTo = await completeAuthorization(c.var.services, actorOf(c), input.request, decision);
    return c.json({ object: "oauth_authorization" as const, redirect_to: redirectTo }, 200);
  },
);

oauthGrantRoutes.openapi(
  createRoute({
    method: "get",
    path: "/oauth-grants",
    summary: "List grants",
    description: "Newest first: a tenant's, an app's, or one user's (tenant_id and subject).",
    middleware: [permit("read")],
    request: {
      query: z.strictObject({
        tenant_id: TenantId.optional(),
        client_id: ClientId.optional(),
        subject: Subject.optional(),
        status: GrantState.optional(),
        ...pageParams("oauth_grants"),
      }),
    },
    responses: { 200: json(ListEnvelope(OAuthGrant), "A page of grants"), ...guardedErrors(400) },
  }),
  async (c) => {
    const query = c.req.valid("query");
    const { db } = c.var.services;
    const filter = { tenantId: query.tenant_id, clientId: query.client_id, subject: query.subject, state: query.status };
    const page = await listGrants(db, filter, pageRequest(query));
    const lastUse = await lastUsedOf(db, page.rows.map((grant) => grant.id));
    return c.json(listOf("oauth_grants", page, (grant) => grantView(grant, lastUse.get(grant.id) ?? null)), 200);
  },
);

oauthGrantRoutes.openapi(
  createRoute({
    method: "get",
    path: "/oauth-grants/{id}",
    summary: "Get a grant",
    middleware: [permit("read")],
    request: { params: IdParam(GrantId) },
    responses: { 200: json(OAuthGrant, "The grant"), ...guardedErrors(400, 404) },
  }),
  async (c) => {
    const { services } = c.var;
    return c.json(await grantViewNow(services, await loadGrant(services, c.req.valid("param").id)), 200);
  },
);

oauthGrantRoutes.openapi(
  createRoute({
    method: "post",
    path: "/oauth-grants/{id}/revoke",
    summary: "Revoke a grant",
    description: "Immediate everywhere: the very next request with any of its access tokens gets 401 revoked_token, and its refresh tokens are refused. Revoking a revoked grant changes nothing (200).",
    middleware: [permit("write")],
    request: { params: IdParam(GrantId) },
    responses: { 200: json(OAuthGrant, "The revoked grant"), ...guardedErrors(400, 404) },
  }),
  async (c) => {
    const { services } = c.var;
    const id = c.req.valid("param").id;
    await endGrant(services, actorOf(c), await loadGrant(services, id), "revoked");
    return c.json(await grantViewNow(services, await loadGrant(services, id)), 200);
  },
);

oauthGrantRoutes.openapi(
  createRoute({
    method: "post",
    path: "/oauth-grants/revoke",
    summary: "Revoke a user's grants, or an app's",
    description:
      "Every live grant that matches: `tenant_id` and `subject` (everything a user let any app do), `client_id` (everything an app holds), or all three. " +
      `Each grant's object refuses its tokens before this answers. One call revokes at most ${FANOUT_BUDGET}; with more it answers 202 with \`pending: true\`: repeat the same call until 200.`,
    middleware: [permit("write")],
    request: { body: jsonBody(GrantsRevoke) },
    responses: {
      200: json(GrantsRevoked, "Every matching grant is revoked"),
      202: json(GrantsRevoked, "More grants match: repeat the request"),
      ...guardedErrors(400),
    },
  }),
  async (c) => {
    const input = c.req.valid("json");
    const filter = { tenantId: input.tenant_id, subject: input.subject, clientId: input.client_id };
    const { count, pending } = await endGrants(c.var.services, actorOf(c), filter, "revoked");
    const body = { object: "oauth_grant_revocation" as const, revoked: count, pending };
    return pending ? c.json(body, 202) : c.json(body, 200);
  },
);
