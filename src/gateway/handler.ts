import { readConfig } from "../config";
import { errorResponse, toApiError } from "../http/errors";
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
    if (isPreflight(request) || isPublicPath(config, url.pathname)) {
      response = await forwardToOrigin(request, url, config, null, requestId);
    } else {
      const caller = await authenticate(request, env, ctx, config, requiredScopes(config, request.method, url.pathname));
      rateLimitHeaders = caller.rateLimitHeaders;
      response = await forwardToOrigin(request, url, config, caller, requestId);
    }
    for (const [name, value] of Object.entries(rateLimitHeaders)) response.headers.set(name, value);
    response.headers.set("x-request-id", requestId);
    return response;
  } catch (error) {
    return errorResponse(toApiError(error), requestId, rateLimitHeaders);
  }
}
