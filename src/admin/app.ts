import { OpenAPIHono } from "@hono/zod-openapi";
import { HTTPException } from "hono/http-exception";
import { readConfig } from "../config";
import { ApiError, errorResponse, toApiError } from "../http/errors";
import { prefixedId } from "../keys/random";
import { requireAdmin } from "./auth";
import type { AdminEnv } from "./context";
import { keyRoutes } from "./keys";
import { tenantRoutes } from "./tenants";
import { validationHook } from "./validation";

const MAX_BODY_BYTES = 64 * 1024;

export const adminApp = new OpenAPIHono<AdminEnv>({ defaultHook: validationHook });

adminApp.use("*", async (c, next) => {
  c.set("requestId", prefixedId("req"));
  c.set("config", readConfig(c.env));
  const length = Number(c.req.header("content-length") ?? 0);
  if (length > MAX_BODY_BYTES) throw new ApiError("payload_too_large", `Admin request bodies are limited to ${MAX_BODY_BYTES} bytes.`);
  await next();
  c.header("x-request-id", c.var.requestId);
  c.header("cache-control", "no-store");
});

adminApp.use("/_keygate/v1/*", requireAdmin);
adminApp.route("/_keygate/v1", tenantRoutes);
adminApp.route("/_keygate/v1", keyRoutes);

adminApp.notFound((c) => errorResponse(new ApiError("not_found", "No such admin route."), c.var.requestId ?? prefixedId("req")));

adminApp.onError((error, c) => {
  const requestId = c.var.requestId ?? prefixedId("req");
  if (error instanceof HTTPException && !(error instanceof ApiError)) {
    // Hono's own refusals, e.g. a body that is not JSON.
    const code = error.status === 400 ? "invalid_request" : "internal_error";
    return errorResponse(new ApiError(code, error.status === 400 ? "The request body is not valid JSON." : error.message), requestId);
  }
  return errorResponse(toApiError(error), requestId);
});
