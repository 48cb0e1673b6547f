import type { Config } from "../config";

const READ_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** The scope a request needs: the first ROUTE_SCOPES rule that matches, else read or write. */
export function requiredScope(config: Config, method: string, path: string): string {
  for (const rule of config.routeScopes) {
    if ((rule.method === "*" || rule.method === method) && rule.path.test(path)) return rule.scope;
  }
  return READ_METHODS.has(method) ? "read" : "write";
}

// An encoded slash, backslash or dot lets an origin that decodes paths see another path than the
// one matched here (`/public/..%2Fadmin`), so such a path is never public: it needs a key.
const DISGUISED_SEGMENT = /%2f|%5c|%2e/i;

export function isPublicPath(config: Config, path: string): boolean {
  if (DISGUISED_SEGMENT.test(path)) return false;
  return config.publicPaths.some((pattern) => pattern.test(path));
}

/** A CORS preflight carries no credentials by design, so it goes to the origin without a key. */
export function isPreflight(request: Request): boolean {
  return request.method === "OPTIONS" && request.headers.has("access-control-request-method");
}
