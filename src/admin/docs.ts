import { swaggerUI } from "@hono/swagger-ui";
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AdminEnv } from "./context";

export const OPENAPI_PATH = "/_keygate/openapi.json";
export const DOCS_PATH = "/_keygate/docs";

/**
 * The contract, generated from the very zod schemas that validate requests, so it cannot drift.
 * Both are public: they describe the API and hold no data. The interactive reference is Swagger
 * UI; the page loads its script from a CDN in the reader's browser, the worker serves only HTML.
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
        "Manage tenants, API keys, admin users and the audit trail. Errors share one envelope: " +
        '`{"success": false, "error": {"code", "message", "details"}, "requestId"}`.',
    },
    security: [{ bearer: [] }, { apiKey: [] }],
  });
  app.get(DOCS_PATH, swaggerUI({ url: OPENAPI_PATH, title: "keygate admin API" }));
}
