import { OpenAPIHono } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { ApiError, errorResponse } from "../http/errors";
import { onError } from "../http/on-error";
import { requestContext } from "../request-context";
import { adminRoutes } from "./admins";
import { auditRoutes } from "./audit";
import { requireCaller } from "./auth";
import type { AdminEnv } from "./context";
import { serveConsole } from "./console";
import { serveDocs } from "./docs";
import { keyRoutes } from "./keys";
import { nameRoutes } from "./names";
import { overviewRoutes } from "./overview";
import { COOKIE_ROUTES, sessionRoutes } from "./sessions";
import { SIGNINS_PATH, signinRoutes } from "./signins";
import { tenantRoutes } from "./tenants";
import { usageRoutes } from "./usage";
import { usageExportRoutes } from "./usage-export";
import { validationHook } from "./validation";
import { verifyRoutes } from "./verify";

const MAX_BODY_BYTES = 64 * 1024;
const API_PREFIX = "/_keygate/v1";

export const adminApp = new OpenAPIHono<AdminEnv>({ defaultHook: validationHook });

adminApp.use(requestContext());
adminApp.use(async (c, next) => {
  await next();
  c.res.headers.set("cache-control", "no-store");
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

// Every API route needs a caller except sign-in, which is how an admin becomes one, and the
// console's session routes, which its cookie authenticates (sessions.ts).
const WITHOUT_CALLER = new Set([SIGNINS_PATH, ...COOKIE_ROUTES].map((path) => `${API_PREFIX}${path}`));
adminApp.use(`${API_PREFIX}/*`, (c, next) => (WITHOUT_CALLER.has(c.req.path) ? next() : requireCaller(c, next)));

adminApp.route(API_PREFIX, signinRoutes);
adminApp.route(API_PREFIX, sessionRoutes);
adminApp.route(API_PREFIX, adminRoutes);
adminApp.route(API_PREFIX, tenantRoutes);
adminApp.route(API_PREFIX, verifyRoutes);
adminApp.route(API_PREFIX, keyRoutes);
adminApp.route(API_PREFIX, usageRoutes);
adminApp.route(API_PREFIX, usageExportRoutes);
adminApp.route(API_PREFIX, auditRoutes);
adminApp.route(API_PREFIX, overviewRoutes);
adminApp.route(API_PREFIX, nameRoutes);
serveDocs(adminApp);
serveConsole(adminApp);

adminApp.notFound((c) => errorResponse(new ApiError("not_found", "No such admin route."), c.var.requestId));
adminApp.onError(onError);
