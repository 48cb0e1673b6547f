import { OpenAPIHono } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { ApiError, errorResponse } from "../http/errors";
import { MAX_BODY_BYTES } from "../http/limits";
import { onError } from "../http/on-error";
import { requestContext } from "../request-context";
import { accountRoutes } from "./account";
import { adminRoutes } from "./admins";
import { auditRoutes } from "./audit";
import { requireCaller } from "./auth";
import type { AdminEnv } from "./context";
import { serveConsole } from "./console";
import { serveDocs } from "./docs";
import { enrolmentGate } from "./enrolment";
import { factorRoutes } from "./factors";
import { keyRoutes } from "./keys";
import { nameRoutes } from "./names";
import { overviewRoutes } from "./overview";
import { COOKIE_ROUTES, sessionRoutes } from "./sessions";
import { SIGNIN_METHODS_PATH, signinSettingsRoutes } from "./signin-settings";
import { SIGNINS_PATH, signinRoutes } from "./signins";
import { SSO_CALLBACK_PATH, SSO_START_PATH, ssoRoutes } from "./sso";
import { tenantRoutes } from "./tenants";
import { usageRoutes } from "./usage";
import { usageExportRoutes } from "./usage-export";
import { validationHook } from "./validation";
import { verifyRoutes } from "./verify";
import { oauthServer } from "../oauth/server";
import { oauthClientRoutes } from "./oauth-clients";
import { oauthGrantRoutes } from "./oauth-grants";

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

// Every API route needs a caller except sign-in, which is how an admin becomes one (by password,
// single sign-on, or the list of ways to sign in), and the console's session routes, which its
// cookie authenticates (sessions.ts).
const WITHOUT_CALLER = new Set([SIGNINS_PATH, SIGNIN_METHODS_PATH, SSO_START_PATH, SSO_CALLBACK_PATH, ...COOKIE_ROUTES].map((path) => `${API_PREFIX}${path}`));
adminApp.use(`${API_PREFIX}/*`, (c, next) => (WITHOUT_CALLER.has(c.req.path) ? next() : requireCaller(c, next)));
adminApp.use(`${API_PREFIX}/*`, enrolmentGate(API_PREFIX));

adminApp.route(API_PREFIX, signinRoutes);
adminApp.route(API_PREFIX, sessionRoutes);
adminApp.route(API_PREFIX, accountRoutes);
adminApp.route(API_PREFIX, factorRoutes);
adminApp.route(API_PREFIX, signinSettingsRoutes);
adminApp.route(API_PREFIX, ssoRoutes);
adminApp.route(API_PREFIX, adminRoutes);
adminApp.route(API_PREFIX, tenantRoutes);
adminApp.route(API_PREFIX, verifyRoutes);
adminApp.route(API_PREFIX, keyRoutes);
adminApp.route(API_PREFIX, usageRoutes);
adminApp.route(API_PREFIX, usageExportRoutes);
adminApp.route(API_PREFIX, auditRoutes);
adminApp.route(API_PREFIX, overviewRoutes);
adminApp.route(API_PREFIX, nameRoutes);
adminApp.route(API_PREFIX, oauthClientRoutes);
adminApp.route(API_PREFIX, oauthGrantRoutes);
adminApp.route("/", oauthServer);
serveDocs(adminApp);
serveConsole(adminApp);

adminApp.notFound((c) => errorResponse(new ApiError("not_found", "No such admin route."), c.var.requestId));
adminApp.onError(onError);
