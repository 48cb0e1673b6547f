import { readConfig } from "../config";
import { keyCarriers } from "../credentials/extract";
import { errorResponse, toApiError } from "../http/errors";
import { isWellFormedKey } from "../keys/format";
import { prefixedId } from "../keys/random";
import { forwardToOrigin } from "../proxy/forward";
import { authenticate } from "./authenticate";
import { isPreflight, isPublicPath, requiredScopes } from "./scopes";

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
      response = await forwardToOrigin(request, url, config, { identity: null, carriers, withBody: !preflight }, requestId);
    } else {
      const caller = await authenticate(request, env, ctx, config, requiredScopes(config, request.method, url.pathname));
      rateLimitHeaders = caller.rateLimitHeaders;
      response = await forwardToOrigin(request, url, config, { identity: caller, carriers: caller.carriers, withBody: true }, requestId);
    }
    for (const [name, value] of Object.entries(rateLimitHeaders)) response.headers.set(name, value);
    response.headers.set("x-request-id", requestId);
    return response;
  } catch (error) {
    return errorResponse(toApiError(error), requestId, rateLimitHeaders);
  }
}
