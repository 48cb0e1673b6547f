import type { MiddlewareHandler } from "hono";
import { prefixedId } from "./keys/random";
import { createServices, type Services } from "./services";

/** What every keygate request carries through Hono, customer traffic and admin calls alike. */
export interface RequestVariables {
  requestId: string;
  services: Services;
}

/**
 * Names the request and builds its services. The id is always keygate's own: a client's
 * x-request-id is never trusted, so no caller can plant an id in the origin's logs or the audit
 * trail. Every response, errors included, says it in x-request-id.
 */
export function requestContext(): MiddlewareHandler<{ Bindings: Env; Variables: RequestVariables }> {
  return async (c, next) => {
    const requestId = prefixedId("req");
    c.set("requestId", requestId);
    c.set("services", createServices(c.env, c.executionCtx));
    await next();
    c.res.headers.set("x-request-id", requestId);
  };
}
