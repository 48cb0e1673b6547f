import { Hono, type MiddlewareHandler } from "hono";
import { isPublicPath, requiredScopes, spelledPath, type RouteRules } from "../authority/routes";
import { keyCarriers } from "../credentials/extract";
import { onError } from "../http/on-error";
import { requestContext } from "../http/request-context";
import { isWellFormedKey } from "../keys/format";
import { forwardToOrigin } from "../proxy/forward";
import { keyAuth, type KeyAuthVariables } from "./key-auth";
import { bodyKind, declaredMethods, readBodyOverrides } from "./overrides";

interface GatewayVariables extends KeyAuthVariables {
  /** The request's URL, parsed once. */
  url: URL;
  /** The scopes of every method and path reading the request could be executed as. */
  neededScopes: string[];
  /** The body to forward: the request's own stream, or the bytes read of it for `_method`. */
  body: BodyInit | null;
}

export type GatewayEnv = { Bindings: Env; Variables: GatewayVariables };

/**
 * Customer traffic: every request outside /_keygate/. Preflights and public paths go to the
 * origin without a key; everything else needs the scopes of every way it could be executed,
 * then a key that holds them (keyAuth), then goes to the origin with the caller's identity.
 */
export const gatewayApp = new Hono<GatewayEnv>();

gatewayApp.use(requestContext());
gatewayApp.all("*", routeAccess(), keyAuth<GatewayEnv>({ scopes: (c) => c.get("neededScopes") }), async (c) => {
  // c.get, not c.var, on this path: each c.var read copies every variable into a new object.
  const identity = c.get("keygate");
  return forwardToOrigin(c.req.raw, c.get("url"), c.get("services").config, { identity, carriers: c.get("keyCarriers"), body: c.get("body") }, c.get("requestId"));
});
gatewayApp.onError(onError);

/**
 * A CORS preflight carries no credentials by design, so it goes to the origin without a key. A
 * browser always sends Origin with one; without it the request is an ordinary OPTIONS and needs a key.
 */
export function isPreflight(request: Request): boolean {
  return request.method === "OPTIONS" && request.headers.has("access-control-request-method") && request.headers.has("origin");
}

/**
 * What the request needs: nothing for a preflight or a public path (forwarded at once, without a
 * key); otherwise the scopes of every method it could be executed as, under every reading of its
 * path, for keyAuth to check.
 */
function routeAccess(): MiddlewareHandler<GatewayEnv> {
  return async (c, next) => {
    const request = c.req.raw;
    const url = new URL(request.url);
    const { config } = c.get("services");
    const preflight = isPreflight(request);
    if (preflight || isPublicPath(config, spelledPath(request.url))) {
      const carriers = keyCarriers(request.headers, (candidate) => isWellFormedKey(candidate, config.keyPrefix));
      return forwardToOrigin(request, url, config, { identity: null, carriers, body: preflight ? null : request.body }, c.get("requestId"));
    }
    const { scopes, body } = await scopesOf(config, request, url);
    c.set("url", url);
    c.set("neededScopes", scopes);
    c.set("body", body);
    await next();
  };
}

/**
 * A form or JSON body is read for `_method` only when the answer depends on it: when some method
 * would need a scope that the declared ones do not.
 */
async function scopesOf(rules: RouteRules, request: Request, url: URL): Promise<{ scopes: string[]; body: BodyInit | null }> {
  const methods = declaredMethods(request.method, request.headers, url.search);
  const scopes = requiredScopes(rules, methods, url.pathname);
  const kind = bodyKind(request);
  if (kind === null) return { scopes, body: request.body };
  const everyMethod = requiredScopes(rules, rules.everyMethod, url.pathname);
  if (everyMethod.every((scope) => scopes.includes(scope))) return { scopes, body: request.body };
  const reading = await readBodyOverrides(request, kind);
  return {
    scopes: reading.methods === null ? [...new Set([...scopes, ...everyMethod])] : requiredScopes(rules, [...methods, ...reading.methods], url.pathname),
    body: reading.body,
  };
}
