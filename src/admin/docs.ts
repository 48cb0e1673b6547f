import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { secureHeaders } from "hono/secure-headers";
import type { AdminEnv } from "./context";

export const OPENAPI_PATH = "/_keygate/openapi.json";
export const DOCS_PATH = "/_keygate/docs";

/**
 * Pages admins use on this hostname (where they paste tokens) load nothing from another origin,
 * run no inline script and cannot be framed. Swagger UI sets styles through the DOM and draws
 * icons from data: URIs, so those two are allowed; nothing else is.
 */
export const pageSecurity = () =>
  secureHeaders({
    contentSecurityPolicy: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'"],
      imgSrc: ["'self'", "data:"],
      connectSrc: ["'self'"],
      fontSrc: ["'self'"],
      objectSrc: ["'none'"],
      baseUri: ["'none'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
    },
    xFrameOptions: "DENY",
    // Not on loopback http (tests, wrangler dev), where it would be ignored anyway; harmless in production.
    strictTransportSecurity: "max-age=31536000",
  });

const DOCS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>keygate admin API</title>
<link rel="icon" href="${DOCS_PATH}/favicon-32x32.png">
<link rel="stylesheet" href="${DOCS_PATH}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="${DOCS_PATH}/swagger-ui-bundle.js"></script>
<script src="${DOCS_PATH}/init.js"></script>
</body>
</html>
`;

/** The reference's groups, in the order it shows them. */
const TAGS = {
  Tenants: "The customers of your API: their status, and what their keys share.",
  Keys: "API keys: create, change, rotate, revoke and delete them.",
  Verify: "Ask what the gateway would decide for a key, without proxying a request.",
  Usage: "Who used a key, from where, when and how much; a tenant's totals; failed attempts.",
  Audit: "Who changed what, and when.",
  Admins: "The people who manage keygate, their roles, and how everyone may sign in.",
  Account: "The signed-in admin's own account: password, second factors, passkeys, sessions, step-up.",
  Sessions: "Signing in: passwords, passkeys, single sign-on, the API's access tokens and the console's sessions.",
  Console: "What the console reads: the overview, names, the scopes on offer.",
  "OAuth clients": "The apps your tenants registered to act for their users, and the grants users gave them.",
  OAuth: "keygate as an OAuth 2.1 authorization server: the endpoints apps call (RFC 6749 errors), and the consent page's completion.",
} as const;
type Tag = keyof typeof TAGS;

/**
 * Every operation's stable id and its group, in one place: clients generated from the document
 * name their methods by these, so an id never changes once shipped. A route missing here fails
 * test/admin/openapi.test.ts.
 */
const OPERATIONS: Record<string, [operationId: string, tag: Tag]> = {
  "POST /_keygate/v1/signins": ["signIn", "Sessions"],
  "POST /_keygate/v1/sessions": ["startConsoleSession", "Sessions"],
  "POST /_keygate/v1/sessions/refresh": ["refreshConsoleSession", "Sessions"],
  "DELETE /_keygate/v1/sessions/current": ["endConsoleSession", "Sessions"],
  "POST /_keygate/v1/sessions/passkey-options": ["getPasskeySigninOptions", "Sessions"],
  "GET /_keygate/v1/signin-methods": ["listSigninMethods", "Sessions"],
  "GET /_keygate/v1/sso/start": ["startSingleSignOn", "Sessions"],
  "GET /_keygate/v1/sso/callback": ["finishSingleSignOn", "Sessions"],
  "GET /_keygate/v1/account": ["getAccount", "Account"],
  "POST /_keygate/v1/account/password": ["changePassword", "Account"],
  "POST /_keygate/v1/account/reauthenticate": ["reauthenticate", "Account"],
  "POST /_keygate/v1/account/reauthenticate/passkey-options": ["getPasskeyReauthenticationOptions", "Account"],
  "GET /_keygate/v1/account/sessions": ["listAccountSessions", "Account"],
  "DELETE /_keygate/v1/account/sessions": ["signOutEverywhere", "Account"],
  "DELETE /_keygate/v1/account/sessions/{id}": ["endAccountSession", "Account"],
  "POST /_keygate/v1/account/totp": ["startTotpEnrolment", "Account"],
  "POST /_keygate/v1/account/totp/confirm": ["confirmTotp", "Account"],
  "DELETE /_keygate/v1/account/totp": ["removeTotp", "Account"],
  "POST /_keygate/v1/account/recovery-codes": ["renewRecoveryCodes", "Account"],
  "POST /_keygate/v1/account/passkeys/options": ["getPasskeyRegistrationOptions", "Account"],
  "POST /_keygate/v1/account/passkeys": ["addPasskey", "Account"],
  "DELETE /_keygate/v1/account/passkeys/{id}": ["removePasskey", "Account"],
  "GET /_keygate/v1/settings/signin": ["getSigninSettings", "Admins"],
  "PATCH /_keygate/v1/settings/signin": ["updateSigninSettings", "Admins"],
  "POST /_keygate/v1/admins": ["createAdmin", "Admins"],
  "GET /_keygate/v1/admins": ["listAdmins", "Admins"],
  "GET /_keygate/v1/admins/{id}": ["getAdmin", "Admins"],
  "PATCH /_keygate/v1/admins/{id}": ["updateAdmin", "Admins"],
  "DELETE /_keygate/v1/admins/{id}": ["removeAdmin", "Admins"],
  "DELETE /_keygate/v1/admins/{id}/second-factors": ["removeAdminSecondFactors", "Admins"],
  "POST /_keygate/v1/tenants": ["createTenant", "Tenants"],
  "GET /_keygate/v1/tenants": ["listTenants", "Tenants"],
  "GET /_keygate/v1/tenants/{id}": ["getTenant", "Tenants"],
  "PATCH /_keygate/v1/tenants/{id}": ["updateTenant", "Tenants"],
  "POST /_keygate/v1/keys": ["createKey", "Keys"],
  "GET /_keygate/v1/keys": ["listKeys", "Keys"],
  "GET /_keygate/v1/keys/{id}": ["getKey", "Keys"],
  "PATCH /_keygate/v1/keys/{id}": ["updateKey", "Keys"],
  "DELETE /_keygate/v1/keys/{id}": ["deleteKey", "Keys"],
  "POST /_keygate/v1/keys/{id}/rotate": ["rotateKey", "Keys"],
  "POST /_keygate/v1/keys/{id}/revoke": ["revokeKey", "Keys"],
  "POST /_keygate/v1/keys/verify": ["verifyKey", "Verify"],
  "GET /_keygate/v1/keys/{id}/usage": ["getKeyUsage", "Usage"],
  "GET /_keygate/v1/keys/{id}/events": ["listKeyEvents", "Usage"],
  "GET /_keygate/v1/tenants/{id}/usage": ["getTenantUsage", "Usage"],
  "GET /_keygate/v1/tenants/{id}/usage/export": ["exportTenantUsage", "Usage"],
  "GET /_keygate/v1/failed-attempts": ["getFailedAttempts", "Usage"],
  "GET /_keygate/v1/audit-events": ["listAuditEvents", "Audit"],
  "GET /_keygate/v1/overview": ["getOverview", "Console"],
  "GET /_keygate/v1/names": ["getNames", "Console"],
  "GET /_keygate/v1/scopes": ["listScopes", "Console"],
  "POST /_keygate/v1/oauth-clients": ["createOAuthClient", "OAuth clients"],
  "GET /_keygate/v1/oauth-clients": ["listOAuthClients", "OAuth clients"],
  "GET /_keygate/v1/oauth-clients/{id}": ["getOAuthClient", "OAuth clients"],
  "PATCH /_keygate/v1/oauth-clients/{id}": ["updateOAuthClient", "OAuth clients"],
  "DELETE /_keygate/v1/oauth-clients/{id}": ["deleteOAuthClient", "OAuth clients"],
  "POST /_keygate/v1/oauth-clients/{id}/secret": ["renewOAuthClientSecret", "OAuth clients"],
  "GET /_keygate/v1/oauth-grants": ["listOAuthGrants", "OAuth clients"],
  "GET /_keygate/v1/oauth-grants/{id}": ["getOAuthGrant", "OAuth clients"],
  "POST /_keygate/v1/oauth-grants/{id}/revoke": ["revokeOAuthGrant", "OAuth clients"],
  "POST /_keygate/v1/oauth-grants/revoke": ["revokeOAuthGrants", "OAuth clients"],
  "POST /_keygate/v1/oauth-authorizations": ["completeOAuthAuthorization", "OAuth"],
  "GET /.well-known/oauth-authorization-server": ["getAuthorizationServerMetadata", "OAuth"],
  "GET /.well-known/oauth-protected-resource": ["getProtectedResourceMetadata", "OAuth"],
  "GET /_keygate/oauth/authorize": ["authorize", "OAuth"],
  "POST /_keygate/oauth/token": ["requestOAuthToken", "OAuth"],
  "POST /_keygate/oauth/revoke": ["revokeOAuthToken", "OAuth"],
  "POST /_keygate/oauth/register": ["registerOAuthClient", "OAuth"],
};

type OpenApiDocument = ReturnType<OpenAPIHono<AdminEnv>["getOpenAPI31Document"]>;

/** Names each operation and puts it in its group (see OPERATIONS); the document names this host as its server. */
function labelled(document: OpenApiDocument, origin: string): OpenApiDocument {
  for (const [path, item] of Object.entries(document.paths ?? {})) {
    for (const [method, operation] of Object.entries(item ?? {})) {
      if (typeof operation !== "object" || operation === null || !("responses" in operation)) continue;
      const known = OPERATIONS[`${method.toUpperCase()} ${path}`];
      if (!known) continue;
      Object.assign(operation, { operationId: known[0], tags: [known[1]] });
    }
  }
  return {
    ...document,
    servers: [{ url: origin, description: "This keygate" }],
    tags: Object.entries(TAGS).map(([name, description]) => ({ name, description })),
  };
}

/**
 * The contract, generated from the very zod schemas that validate requests, so it cannot drift.
 * Both are public: they describe the API and hold no data. The interactive reference is Swagger
 * UI, served from this worker's static assets (its version pinned by package-lock.json).
 */
export function serveDocs(app: OpenAPIHono<AdminEnv>): void {
  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", {
    type: "http",
    scheme: "bearer",
    description: "The ADMIN_TOKEN secret, an admin JWT from POST /_keygate/v1/signins, or a tenant API key with the scope keys:manage.",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "apiKey", {
    type: "apiKey",
    in: "header",
    name: "x-api-key",
    description: "A tenant API key with the scope keys:manage (its own tenant's key routes only).",
  });
  app.get(OPENAPI_PATH, (c) => {
    const document = app.getOpenAPI31Document({
      openapi: "3.1.0",
      info: {
        title: "keygate admin API",
        version: "1",
        description:
          "Manage tenants, API keys, OAuth clients and grants, admin users and the audit trail. Errors share one envelope: " +
          '`{"success": false, "error": {"code", "message", "details"}, "requestId"}`. ' +
          "keygate's OAuth endpoints (under /_keygate/oauth/ and the two /.well-known/ documents) are here too; their errors follow RFC 6749: " +
          '`{"error", "error_description"}`.',
      },
      security: [{ bearer: [] }, { apiKey: [] }],
    });
    return c.json(labelled(document, new URL(c.req.url).origin));
  });
  app.use(`${DOCS_PATH}/*`, pageSecurity());
  app.get(DOCS_PATH, (c) => c.html(DOCS_PAGE));
  app.get(`${DOCS_PATH}/:file`, staticFile);
}

/** A file of the worker's static assets at the request's path; any miss reads as the API's 404. */
export const staticFile = async (c: Context<AdminEnv>) => {
  const asset = await c.env.ASSETS.fetch(c.req.raw);
  // 304 when the browser has it already (the asset server's ETag).
  return asset.ok || asset.status === 304 ? new Response(asset.body, asset) : c.notFound();
};
