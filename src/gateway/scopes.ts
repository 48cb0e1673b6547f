import type { Config } from "../config";

const READ_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** The scope one reading of a path needs: the first ROUTE_SCOPES rule that matches, else read or write. */
function scopeFor(config: Config, method: string, path: string, folded: boolean): string {
  for (const rule of config.routeScopes) {
    if ((rule.method === "*" || rule.method === method) && (folded ? rule.pathFolded : rule.path).test(path)) return rule.scope;
  }
  return READ_METHODS.has(method) ? "read" : "write";
}

/**
 * The scopes a request needs. Origins differ in how they read a path: many merge slashes, some
 * decode %2F, resolve dot segments, cut `;params`, or ignore case. A path that means something
 * else under such a reading (`//servers/1`, `/x/..%2Fservers/1`, `/SERVERS/1`) needs the scopes
 * of every reading, so no spelling of a path slips past its rule. Ordinary paths have one reading
 * and need one scope.
 */
export function requiredScopes(config: Config, rawMethod: string, path: string): string[] {
  // Fetch upper-cases only the standard methods; "patch" must meet a PATCH rule all the same.
  const method = rawMethod.toUpperCase();
  const forgiving = UNUSUAL_PATH.test(path) ? canonicalPath(path) : path;
  const scopes = new Set([scopeFor(config, method, path, false), scopeFor(config, method, forgiving, true)]);
  if (forgiving !== path) scopes.add(scopeFor(config, method, forgiving, false));
  return [...scopes];
}

const UNUSUAL_PATH = /%|\\|\/\/|\/\.|;/;

/** The path as the most forgiving origin would read it: decoded, slashes merged, dots resolved, `;params` cut. */
export function canonicalPath(path: string): string {
  let decoded = path;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    // A malformed escape stays as sent; the other readings still apply.
  }
  const segments: string[] = [];
  for (const full of decoded.replace(/\\/g, "/").split("/")) {
    const segment = full.split(";")[0]!;
    if (segment === "" || segment === ".") continue;
    if (segment === "..") segments.pop();
    else segments.push(segment);
  }
  return `/${segments.join("/")}${decoded.endsWith("/") && segments.length > 0 ? "/" : ""}`;
}

// An encoded slash, backslash or dot lets an origin that decodes paths see another path than the
// one matched here (`/public/..%2Fadmin`), and Tomcat-style origins read `/public/..;/admin` as
// `/admin`, so such a path is never public: it needs a key.
const DISGUISED_SEGMENT = /%2f|%5c|%2e|;/i;

export function isPublicPath(config: Config, path: string): boolean {
  if (DISGUISED_SEGMENT.test(path)) return false;
  return config.publicPaths.some((pattern) => pattern.test(path));
}

/**
 * A CORS preflight carries no credentials by design, so it goes to the origin without a key. A
 * browser always sends Origin with one; without it the request is an ordinary OPTIONS and needs a key.
 */
export function isPreflight(request: Request): boolean {
  return request.method === "OPTIONS" && request.headers.has("access-control-request-method") && request.headers.has("origin");
}
