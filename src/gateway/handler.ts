import { readConfig } from "../config";
import { keyCarriers } from "../credentials/extract";
import { errorResponse, toApiError } from "../http/errors";
import { isWellFormedKey } from "../keys/format";
import { prefixedId } from "../keys/random";
import { forwardToOrigin } from "../proxy/forward";
import { authenticate } from "./authenticate";
import { bodyKind, declaredMethods, readBodyOverrides } from "./overrides";
import { isPreflight, isPublicPath, requiredScopes } from "./scopes";
import type { Config } from "../config";

/** Every request outside /_keygate/: authenticate, then proxy with the caller's identity. */
export async function handleGateway(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
  const requestId = prefixedId("req");
  let rateLimitHeaders: Record<string, string> = {};
  try {
    const config = readConfig(env);
    const url = new URL(request.url);
    let response: Response;
    const preflight = isPreflight(request);
    if (preflight || isPublicPath(config, url.pathname)) {
      const carriers = keyCarriers(request.headers, (candidate) => isWellFormedKey(candidate, config.keyPrefix));
      response = await forwardToOrigin(request, url, config, { identity: null, carriers, body: preflight ? null : request.body }, requestId);
    } else {
      const { scopes, body } = await neededScopes(config, request, url);
      const caller = await authenticate(request, env, ctx, config, scopes);
      rateLimitHeaders = caller.rateLimitHeaders;
      response = await forwardToOrigin(request, url, config, { identity: caller, carriers: caller.carriers, body }, requestId);
    }
    for (const [name, value] of Object.entries(rateLimitHeaders)) response.headers.set(name, value);
    response.headers.set("x-request-id", requestId);
    return response;
  } catch (error) {
    return errorResponse(toApiError(error), requestId, rateLimitHeaders);
  }
}

/**
 * The scopes of every method the request could be executed as, under every reading of its path. A
 * form or JSON body is read for `_method` only when the answer depends on it: when some method
 * would need a scope that the declared ones do not.
 */
async function neededScopes(config: Config, request: Request, url: URL): Promise<{ scopes: string[]; body: BodyInit | null }> {
  const methods = declaredMethods(request.method, request.headers, url.search);
  const scopes = requiredScopes(config, methods, url.pathname);
  const kind = bodyKind(request);
  if (kind === null) return { scopes, body: request.body };
  const everyMethod = requiredScopes(config, config.everyMethod, url.pathname);
  if (everyMethod.every((scope) => scopes.includes(scope))) return { scopes, body: request.body };
  const reading = await readBodyOverrides(request, kind);
  return {
    scopes: reading.methods === null ? [...new Set([...scopes, ...everyMethod])] : requiredScopes(config, [...methods, ...reading.methods], url.pathname),
    body: reading.body,
  };
}
