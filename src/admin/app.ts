import { OpenAPIHono } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { readConfig } from "../config";
import { ApiError, errorResponse, toApiError } from "../http/errors";
import { prefixedId } from "../keys/random";
import { adminRoutes } from "./admins";
import { auditRoutes } from "./audit";
import { requireCaller } from "./auth";
import type { AdminEnv } from "./context";
import { serveDocs } from "./docs";
import { keyRoutes } from "./keys";
import { SIGNINS_PATH, signinRoutes } from "./signins";
import { tenantRoutes } from "./tenants";
import { validationHook } from "./validation";

const MAX_BODY_BYTES = 64 * 1024;
const API_PREFIX = "/_keygate/v1";

export const adminApp = new OpenAPIHono<AdminEnv>({ defaultHook: validationHook });

adminApp.use("*", async (c, next) => {
  c.set("requestId", prefixedId("req"));
  c.set("config", readConfig(c.env));
  await next();
  c.header("x-request-id", c.var.requestId);
  c.header("cache-control", "no-store");
});

// Counts the bytes as they stream, so a chunked body without content-length is limited too.
adminApp.use(
  `${API_PREFIX}/*`,
  bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: () => {
      throw new ApiError("payload_too_large", `Admin request bodies are limited to ${MAX_BODY_BYTES} bytes.`);
    },
  }),
);

// Every API route needs a caller except sign-in, which is how an admin becomes one.
adminApp.use(`${API_PREFIX}/*`, (c, next) => (c.req.path === `${API_PREFIX}${SIGNINS_PATH}` ? next() : requireCaller(c, next)));

adminApp.route(API_PREFIX, signinRoutes);
adminApp.route(API_PREFIX, adminRoutes);
adminApp.route(API_PREFIX, tenantRoutes);
adminApp.route(API_PREFIX, keyRoutes);
adminApp.route(API_PREFIX, auditRoutes);
serveDocs(adminApp);

adminApp.notFound((c) => errorResponse(new ApiError("not_found", "No such admin route."), c.var.requestId ?? prefixedId("req")));

adminApp.onError((error, c) => {
  const requestId = c.var.requestId ?? prefixedId("req");
  if (error instanceof HTTPException) return errorResponse(fromHonoRefusal(error), requestId);
  return errorResponse(toApiError(error), requestId);
});

/** Hono's own refusals, raised before our validators see the body: said in our vocabulary. */
function fromHonoRefusal(error: HTTPException): ApiError {
  switch (error.status) {
    case 400:
      return new ApiError("invalid_request", "The request body is not valid JSON.", { fields: [{ field: "body", message: error.message }] });
    case 415:
      return new ApiError("invalid_request", "The request body must be JSON (Content-Type: application/json).", {
        fields: [{ field: "content-type", message: "must be application/json" }],
      });
    default:
      console.error("keygate: unexpected HTTP exception", error);
      return new ApiError("internal_error", "keygate hit an unexpected error.");
  }
}
