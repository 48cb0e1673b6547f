/**
 * The OAuth metadata documents keygate serves on the API's own host (RFC 8414, RFC 9728), so that
 * an app (an MCP client, say) that knows only the API's address finds its authorization server.
 * Exactly these two paths, with or without a query: `/.well-known/…/more` and every other
 * well-known path are the origin's. A module of its own, so the gateway's wiring loads nothing else.
 */
export const AUTHORIZATION_SERVER_METADATA = "/.well-known/oauth-authorization-server";
export const PROTECTED_RESOURCE_METADATA = "/.well-known/oauth-protected-resource";

/** `pathAndQuery` as a request URL has it after the host. */
export function isOAuthMetadataPath(pathAndQuery: string): boolean {
  if (!pathAndQuery.startsWith("/.well-known/oauth-")) return false;
  const path = pathAndQuery.split("?", 1)[0];
  return path === AUTHORIZATION_SERVER_METADATA || path === PROTECTED_RESOURCE_METADATA;
}
