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
  app.doc31(OPENAPI_PATH, {
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
