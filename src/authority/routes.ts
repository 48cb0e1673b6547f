/**
 * Which requests need which scopes, and which paths need no key: the route rules from ROUTE_SCOPES
 * and PUBLIC_PATHS, and the readings of a path under which they are matched.
 */
/** Which requests a rule of ROUTE_SCOPES or ROUTE_COSTS is for: a method and a path glob. */
export interface RouteMatch {
  method: string; // upper-case, or "*"
  path: RegExp;
  /** The same glob, case-insensitive: how an origin that ignores case reads it. */
  pathFolded: RegExp;
}

/** A scope a route needs (ROUTE_SCOPES). */
export interface RouteRule extends RouteMatch {
  scope: string;
}

/** What a route costs (ROUTE_COSTS), in the same grammar as a scope rule. */
export interface CostRule extends RouteMatch {
  cost: number;
}

export interface RouteRules {
  routeScopes: readonly RouteRule[];
  routeCosts: readonly CostRule[];
  /** Every method a request could be overridden to, as far as the route rules can tell them apart. */
  everyMethod: readonly string[];
  publicPaths: readonly PublicPath[];
}

/** A PUBLIC_PATHS entry: its glob, and the one path it names when it has no wildcard. */
export interface PublicPath {
  pattern: RegExp;
  /** The entry as written, its trailing slash folded; null for a glob with `*`. */
  exact: string | null;
}

export function publicPath(entry: string): PublicPath {
  return { pattern: globToRegExp(entry), exact: entry.includes("*") ? null : entry.replace(/\/{2,}/g, "/").replace(/(.)\/$/, "$1") };
}


const READ_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** The first rule that matches one reading of a request (`folded`: read as an origin that ignores case reads it). */
function firstRule<R extends RouteMatch>(rules: readonly R[], method: string, path: string, folded: boolean): R | undefined {
  return rules.find((rule) => (rule.method === "*" || rule.method === method) && (folded ? rule.pathFolded : rule.path).test(path));
}

/** The scope one reading of a request needs: the first ROUTE_SCOPES rule that matches, else read or write. */
function scopeFor(rules: RouteRules, method: string, path: string, folded: boolean): string {
  return firstRule(rules.routeScopes, method, path, folded)?.scope ?? (READ_METHODS.has(method) ? "read" : "write");
}

/**
 * The scopes a request needs: those of every method it could be executed as (its own and any
 * override it carries, see overrides.ts) under every reading of its path. Origins differ in how
 * they read a path (see pathReadings) and some ignore case, so a request needs what each of them
 * would need, and no spelling slips past its rule. An ordinary request has one method and one
 * reading, and needs one scope.
 */
export function requiredScopes(rules: RouteRules, methods: readonly string[], path: string): string[] {
  const readings = pathReadings(path);
  const scopes = new Set<string>();
  for (const rawMethod of methods) {
    // Fetch upper-cases only the standard methods; "patch" must meet a PATCH rule all the same.
    const method = rawMethod.toUpperCase();
    for (const reading of readings) {
      scopes.add(scopeFor(rules, method, reading, false));
      scopes.add(scopeFor(rules, method, reading, true));
    }
  }
  return [...scopes];
}

/**
 * The path a request target names, as the gateway matches it: what URL parsing makes of the
 * request's URL (dot segments resolved, a backslash read as a slash, characters escaped), with its
 * query and fragment cut. Verification reads its `path` this way, so a caller that passes the
 * path and query of a request (Express's `req.url`) is matched as the proxy would match that
 * request, and an exact-path rule still applies. `target` starts with "/".
 */
export function requestPath(target: string): string {
  return new URL(`http://keygate.invalid${target}`).pathname;
}

/**
 * What a request costs in credits and quota units: the first ROUTE_COSTS rule that matches, 1
 * without one; read like the scopes, under every method it could be executed as and every reading
 * of its path, and the highest of them counts, so no spelling of a path makes a request cheaper.
 */
export function requestCost(rules: RouteRules, methods: readonly string[], path: string): number {
  if (rules.routeCosts.length === 0) return 1;
  const readings = pathReadings(path);
  let highest = 0;
  for (const rawMethod of methods) {
    const method = rawMethod.toUpperCase();
    for (const reading of readings) {
      for (const folded of [false, true]) highest = Math.max(highest, firstRule(rules.routeCosts, method, reading, folded)?.cost ?? 1);
    }
  }
  return highest;
}

/** Anything in a path that some origin reads differently from its literal spelling. */
const UNUSUAL_PATH = /[%\\;. \0]|\/\/|.\/$/;

/**
 * The ways common origins read one path, the literal spelling first. Express (by default), Rails,
 * Spring and most routers fold a trailing slash and repeated slashes; many decode %-escapes (some
 * twice), take a backslash for a slash, resolve dot segments, cut `;params` (Tomcat) or stop at a
 * NUL (C and older PHP); Windows servers drop trailing dots and spaces of a segment; Rails and
 * Spring's suffix matching route `/reports.json` as `/reports`. So besides the path as sent there
 * is its most forgiving reading, and that reading without a format suffix.
 */
export function pathReadings(path: string): string[] {
  if (!UNUSUAL_PATH.test(path)) return [path];
  const forgiving = forgivingPath(path);
  const readings = new Set([path, forgiving]);
  const last = forgiving.slice(forgiving.lastIndexOf("/") + 1);
  const firstDot = last.indexOf(".");
  if (firstDot > 0) {
    const base = forgiving.slice(0, forgiving.length - last.length);
    readings.add(base + last.slice(0, last.lastIndexOf(".")));
    readings.add(base + last.slice(0, firstDot));
  }
  return [...readings];
}

/** The path as the most forgiving origin reads it. Never ends in a slash, except the root itself. */
export function forgivingPath(path: string): string {
  return resolvedPath(decodedPath(path));
}

/** A decoded path cut at a NUL, its separators, `;params`, Windows trailing dots and dot segments resolved. */
function resolvedPath(decoded: string): string {
  const nul = decoded.indexOf("\0");
  if (nul !== -1) decoded = decoded.slice(0, nul);
  const segments: string[] = [];
  for (const full of decoded.replace(/\\/g, "/").split("/")) {
    const segment = windowsSegment(full.split(";")[0]!);
    if (segment === "" || segment === ".") continue;
    if (segment === "..") segments.pop();
    else segments.push(segment);
  }
  return `/${segments.join("/")}`;
}

/** The path with its %-escapes decoded as the most eager origin decodes them. */
function decodedPath(path: string): string {
  let decoded = path;
  // Decoding twice (or three times) is a real origin behaviour: `%252F` becomes `%2F`, then `/`.
  for (let round = 0; round < 3 && decoded.includes("%"); round++) {
    let next: string;
    try {
      next = decodeURIComponent(decoded);
    } catch {
      break; // a malformed escape stays as sent; the other readings still apply
    }
    if (next === decoded) break;
    decoded = next;
  }
  return decoded;
}

/** Windows ignores trailing spaces, and trailing dots of a name (but `.` and `..` keep their meaning). */
function windowsSegment(segment: string): string {
  const trimmed = segment.replace(/ +$/, "");
  if (trimmed === "." || trimmed === "..") return trimmed;
  return trimmed.replace(/[. ]+$/, "");
}

// An encoded slash, backslash, dot or percent lets an origin that decodes paths see another path
// than the one matched here (`/public/..%2Fadmin`), Tomcat-style origins read `/public/..;/admin`
// as `/admin`, and a backslash is a slash to many: such a path is never public.
const DISGUISED_SEGMENT = /%2f|%5c|%2e|%25|;|\\/i;

/**
 * Rules that protect apply to every spelling of a path; the rule that exempts, to exactly the
 * spelling the operator wrote, and fails closed. A path is public only when it is its own plain
 * spelling, the one every origin reads as itself (no trailing or repeated slash, no dot segment,
 * no trailing dot or space of a segment, no `;`, backslash, NUL or escaped separator, dot or
 * percent), and then either it is an entry written without a wildcard, exactly (`/robots.txt`
 * makes `/robots.txt` public, case and all), or every reading of it (as spelled, and without a
 * format suffix, which Rails and Spring route as the bare path) matches a PUBLIC_PATHS glob. With
 * `/health` public, `/health/`, `//health`, `/HEALTH`, `/health.json`, `/health;x` and
 * `/./health` need a key. `path` is the path as the client spelled it (see spelledPath), so a
 * runtime that resolves dot segments cannot make one public.
 */
export function isPublicPath(rules: RouteRules, path: string): boolean {
  if (rules.publicPaths.length === 0 || DISGUISED_SEGMENT.test(path)) return false;
  const decoded = decodedPath(path);
  if (resolvedPath(decoded) !== decoded) return false;
  if (rules.publicPaths.some((entry) => entry.exact === path)) return true;
  return pathReadings(path).every((reading) => rules.publicPaths.some((entry) => entry.exact === null && entry.pattern.test(reading)));
}

/** The path of an absolute URL as it is spelled there: nothing resolved, query and fragment cut. */
export function spelledPath(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start === -1) return "/";
  const query = url.indexOf("?", start);
  const fragment = url.indexOf("#", start);
  const end = Math.min(query === -1 ? url.length : query, fragment === -1 ? url.length : fragment);
  return url.slice(start, end);
}

/**
 * Path globs: `*` matches within one segment, `**` across segments; `/servers/*` also matches
 * `/servers`. Origins fold a trailing slash and repeated slashes, so the glob is read with them
 * folded (`/reports/` means `/reports`) and matches a path with or without a trailing slash.
 */
export function globToRegExp(glob: string): RegExp {
  const folded = glob.replace(/\/{2,}/g, "/").replace(/(.)\/$/, "$1");
  let source = "";
  for (let i = 0; i < folded.length; i++) {
    const ch = folded[i]!;
    if (ch === "*") {
      if (folded[i + 1] === "*") {
        source += ".*";
        i++;
      } else {
        source += "[^/]*";
      }
    } else {
      source += ch.replace(/[.+?^${}()|[\]\\]/g, "\\$&");
    }
  }
  // "/servers/*" should cover the collection itself, as users write it meaning "servers and below".
  if (source.endsWith("/[^/]*")) source = `${source.slice(0, -6)}(?:/[^/]*)?`;
  else if (source.endsWith("/.*")) source = `${source.slice(0, -3)}(?:/.*)?`;
  return new RegExp(source === "/" ? "^/$" : `^${source}/?$`);
}
