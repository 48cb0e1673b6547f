import { Hono, type MiddlewareHandler } from "hono";
import { isPublicPath, requestCost, requiredScopes, spelledPath, type RouteRules } from "../authority/routes";
import { keyCarriers } from "../credentials/extract";
import type { Config } from "../config";
import { onError } from "../http/on-error";
import { PROTECTED_RESOURCE_METADATA } from "../oauth/well-known";
import { requestContext } from "../request-context";
import { isWellFormedKey } from "../keys/format";
import { forwardToOrigin } from "../proxy/forward";
import { keyAuth, type KeyAuthVariables } from "./key-auth";
import { bodyKind, declaredMethods, readBodyOverrides } from "./overrides";

interface GatewayVariables extends KeyAuthVariables {
  /** The request's URL, parsed once. */
  url: URL;
  /** The scopes of every method and path reading the request could be executed as. */
  neededScopes: string[];
  /** What it costs in credits and quota units (ROUTE_COSTS), the highest of those ways. */
  cost: number;
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
gatewayApp.all("*", routeAccess(), keyAuth<GatewayEnv>({ scopes: (c) => c.get("neededScopes"), charge: (c) => ({ units: c.get("cost"), counted: true }) }), async (c) => {
  // c.get, not c.var, on this path: each c.var read copies every variable into a new object.
  const identity = c.get("keygate");
  return forwardToOrigin(c.req.raw, c.get("url"), c.get("services"), { identity, carriers: c.get("keyCarriers"), body: c.get("body") }, c.get("requestId"));
});
gatewayApp.onError((error, c) => withResourceMetadata(onError(error, c), c.req.url, c.get("services")?.config));

/**
 * RFC 9728 §5.1: a Bearer challenge says where the API's protected-resource metadata is, so an app
 * that met a 401 or 403 (an MCP client, say) finds keygate's authorization server from the answer
 * alone. Only when OAuth is offered (OAUTH_CONSENT_URL set): otherwise no app could finish the
 * authorization it would start.
 */
function withResourceMetadata(response: Response, url: string, config: Config | undefined): Response {
  const challenge = response.headers.get("www-authenticate");
  if (!challenge?.startsWith("Bearer ") || !config?.oauth.consentUrl) return response;
  const parameter = `, resource_metadata="${new URL(url).origin}${PROTECTED_RESOURCE_METADATA}"`;
  // The parameter belongs to the Bearer challenge, which ends where a Basic one begins.
  const end = challenge.indexOf(", Basic ");
  response.headers.set("www-authenticate", end === -1 ? challenge + parameter : challenge.slice(0, end) + parameter + challenge.slice(end));
  return response;
}

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
    const services = c.get("services");
    const { config } = services;
    const preflight = isPreflight(request);
    if (preflight || isPublicPath(config, spelledPath(request.url))) {
      const carriers = keyCarriers(request.headers, (candidate) => isWellFormedKey(candidate, config.keyPrefix));
      return forwardToOrigin(request, url, services, { identity: null, carriers, body: preflight ? null : request.body }, c.get("requestId"));
    }
    const { scopes, cost, body } = await scopesOf(config, request, url);
    c.set("url", url);
    c.set("neededScopes", scopes);
    c.set("cost", cost);
    c.set("body", body);
    await next();
  };
}

/**
 * The scopes and the cost of every method the request could be executed as. A form or JSON body
 * is read for `_method` only when the answer depends on it: when some method would need a scope,
 * or cost more, than the declared ones.
 */
async function scopesOf(rules: RouteRules, request: Request, url: URL): Promise<{ scopes: string[]; cost: number; body: BodyInit | null }> {
  const path = url.pathname;
  const methods = declaredMethods(request.method, request.headers, url.search);
  const scopes = requiredScopes(rules, methods, path);
  const cost = requestCost(rules, methods, path);
  const kind = bodyKind(request);
  if (kind === null) return { scopes, cost, body: request.body };
  const everyMethod = requiredScopes(rules, rules.everyMethod, path);
  const everyCost = requestCost(rules, rules.everyMethod, path);
  if (everyMethod.every((scope) => scopes.includes(scope)) && everyCost === cost) return { scopes, cost, body: request.body };
  const reading = await readBodyOverrides(request, kind);
  if (reading.methods === null) return { scopes: [...new Set([...scopes, ...everyMethod])], cost: everyCost, body: reading.body };
  const all = [...methods, ...reading.methods];
  return { scopes: requiredScopes(rules, all, path), cost: requestCost(rules, all, path), body: reading.body };
}
