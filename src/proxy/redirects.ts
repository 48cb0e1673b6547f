import type { Config } from "../config";

/**
 * An origin that answers `302 Location: http://<origin>/next` would show the client its internal
 * address, and a client that follows redirects would send its key straight to the origin, around
 * keygate. So, as a reverse proxy does, every URL in a response header that points at ORIGIN_URL
 * or ORIGIN_URL_TEST is rewritten to the address the client used, with the origin's base path
 * taken off: in Location, Content-Location, Refresh and Link, and in a cookie's Domain and Path.
 * URLs elsewhere (other hosts, paths relative to the request) are left as they are; bodies are
 * never rewritten.
 */
/** The response headers rewriteOriginUrls reads: a response with none of them needs no rewriting. */
export const URL_HEADERS: ReadonlySet<string> = new Set(["location", "content-location", "refresh", "link", "set-cookie"]);

export function rewriteOriginUrls(headers: Headers, client: URL, config: Config, serving: URL): void {
  // The origin that served the request first: its base path is the one to take off a bare path.
  const origins = [serving, config.originUrl, config.originUrlTest].filter((o, i, all): o is URL => o !== null && all.indexOf(o) === i);
  const rewrite = (value: string) => rewriteUrl(value, client, origins);

  for (const name of ["location", "content-location"]) {
    const value = headers.get(name);
    if (value !== null) headers.set(name, rewrite(value.trim()));
  }
  const refresh = headers.get("refresh");
  if (refresh !== null) {
    headers.set("refresh", refresh.replace(/(url\s*=\s*)(['"]?)([^'"]*)\2/i, (_, lead: string, quote: string, target: string) => `${lead}${quote}${rewrite(target.trim())}${quote}`));
  }
  const link = headers.get("link");
  if (link !== null) headers.set("link", link.replace(/<([^>]*)>/g, (_, target: string) => `<${rewrite(target)}>`));

  const cookies = headers.getSetCookie();
  if (cookies.length > 0) {
    const rewritten = cookies.map((cookie) => rewriteCookie(cookie, origins, serving));
    if (rewritten.some((cookie, i) => cookie !== cookies[i])) {
      headers.delete("set-cookie");
      for (const cookie of rewritten) headers.append("set-cookie", cookie);
    }
  }
}

/** A URL at one of the origins, as the client addresses it; any other value unchanged. */
function rewriteUrl(value: string, client: URL, origins: URL[]): string {
  if (value.startsWith("/") && !value.startsWith("//")) {
    // A bare path is at the serving origin: take its base path off.
    return withoutBasePath(value, origins[0]!) ?? value;
  }
  if (!/^([a-z][a-z0-9+.-]*:)?\/\//i.test(value)) return value; // relative to the request: the same either way
  let target: URL;
  try {
    target = new URL(value, client);
  } catch {
    return value;
  }
  const matching = origins.filter((origin) => origin.hostname === target.hostname);
  if (matching.length === 0) return value;
  const path = target.pathname + target.search + target.hash;
  // Any scheme or port of the origin's host reveals it; the longest base path that fits comes off.
  const inner = matching
    .map((origin) => withoutBasePath(path, origin))
    .filter((p): p is string => p !== null)
    .sort((a, b) => a.length - b.length)[0];
  return `${client.origin}${inner ?? path}`;
}

/** `path` without the origin's base path, or null if it does not start with it. */
function withoutBasePath(path: string, origin: URL): string | null {
  const base = origin.pathname.replace(/\/$/, "");
  if (base === "") return path;
  if (!path.startsWith(base)) return null;
  const rest = path.slice(base.length);
  if (rest === "") return "/";
  if (rest.startsWith("/")) return rest;
  return rest.startsWith("?") || rest.startsWith("#") ? `/${rest}` : null;
}

/** A cookie scoped to the origin's host becomes a cookie of the client's host; its Path loses the base path. */
function rewriteCookie(cookie: string, origins: URL[], serving: URL): string {
  const [pair, ...attributes] = cookie.split(";");
  const kept: string[] = [];
  for (const attribute of attributes) {
    const [rawName = "", ...rest] = attribute.split("=");
    const name = rawName.trim().toLowerCase();
    const value = rest.join("=").trim();
    if (name === "domain" && origins.some((origin) => origin.hostname === value.replace(/^\./, "").toLowerCase())) continue;
    const inner = name === "path" ? withoutBasePath(value, serving) : null;
    if (inner !== null && inner !== value) {
      kept.push(` Path=${inner}`);
      continue;
    }
    kept.push(attribute);
  }
  return [pair, ...kept].join(";");
}
