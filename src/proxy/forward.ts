import type { Clock } from "../clock";
import type { Config } from "../config";
import type { Carrier } from "../credentials/extract";
import { OVERRIDE_HEADERS } from "../http/method-overrides";
import { clientAddress } from "../http/client-address";
import { ApiError } from "../http/errors";
import type { Environment } from "../authority/key";
import { rewriteOriginUrls, URL_HEADERS } from "./redirects";
import { sign } from "./signing";

/** Who the origin is told is calling; null for preflights and public paths. */
export interface Identity {
  /** The key's id, or for an OAuth access token its grant's. */
  keyId: string;
  tenantId: string;
  environment: Environment;
  scopes: string[];
  /** For an OAuth access token: the app it was issued to. */
  clientId?: string;
  /** For an access token of a user's grant: the user's subject id (null for client_credentials). */
  subject?: string | null;
}

// RFC 9110 §7.6.1: meaningful for one connection only, never forwarded.
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade", "proxy-authorization", "proxy-authenticate"]);
const IDENTITY_PREFIX = "x-keygate-";
/**
 * What proxies tell an origin about the client and the URL it used. The origin must be able to
 * trust each of these, so a client's own are never forwarded: keygate sets the standard ones from
 * what it knows and drops the rest, including the path overrides some frameworks honour
 * (X-Original-URL, X-Rewrite-URL) and every `x-forwarded-*` it does not set.
 */
const FORWARDING_PREFIX = "x-forwarded-";
const CLIENT_CLAIMS = new Set([
  "forwarded",
  "x-real-ip",
  "true-client-ip",
  "x-client-ip",
  "client-ip",
  "x-cluster-client-ip",
  "fastly-client-ip",
  "x-original-forwarded-for",
  "x-originating-ip",
  "x-remote-ip",
  "x-remote-addr",
  "x-proxyuser-ip",
  "x-envoy-external-address",
  "x-original-url",
  "x-rewrite-url",
  "x-original-uri",
  "x-original-host",
  "x-host",
  "x-http-host-override",
]);
// CGI-style origins (PHP, Apache) read `x_keygate_key_id` as `x-keygate-key-id`, so a client's
// underscore spelling of a header keygate sets or reads is a forgery of it, and never forwarded.
const OWN_HEADERS = new Set(["x-request-id", ...OVERRIDE_HEADERS, ...CLIENT_CLAIMS]);

/** What to tell the origin and what to take away before it sees the request. */
export interface Forwarding {
  identity: Identity | null;
  /** Headers that carried a key: never handed to the origin. */
  carriers: readonly Carrier[];
  /** The body to send: the request's own stream, the bytes keygate read of it, or null for preflights. */
  body: BodyInit | null;
}

/**
 * Sends the request on to the origin: same method, path, query and streamed body; the key's
 * credential and every client-sent x-keygate-* header removed; the caller's identity added (and
 * signed, when ORIGIN_SIGNING_SECRET is set). The response streams back untouched but for
 * hop-by-hop headers.
 */
export async function forwardToOrigin(
  request: Request,
  url: URL,
  { config, clock }: { config: Config; clock: Clock },
  { identity, carriers, body }: Forwarding,
  requestId: string,
): Promise<Response> {
  const origin = (identity?.environment === "test" && config.originUrlTest) || config.originUrl;
  if (!origin) throw new ApiError("configuration_error", "keygate is misconfigured: ORIGIN_URL is not set.");
  // What the origin's own request line will say (its base path included), so it can verify the
  // signature against the path it actually received.
  const pathAndQuery = origin.pathname.replace(/\/$/, "") + url.pathname + url.search;
  const target = origin.origin + pathAndQuery;

  const headers = upstreamHeaders(request.headers, url, carriers);
  headers.set("x-request-id", requestId);
  if (identity) await identify(headers, identity, config.originSigningSecret, clock.now(), { method: request.method, pathAndQuery, requestId });
  const upstream = await fetchOrigin(target, { method: request.method, headers, body }, config.originTimeoutMs);
  return downstream(upstream, url, config, origin);
}

/**
 * The caller's identity for the origin, signed when there is a secret to sign it with. `signedAt`
 * is keygate's clock, the time of everything else it records about the request; the origin checks
 * it against its own clock, so a keygate whose clock runs ahead is refused there as it should be.
 */
async function identify(
  headers: Headers,
  identity: Identity,
  secret: string | null,
  signedAt: number,
  request: { method: string; pathAndQuery: string; requestId: string },
): Promise<void> {
  const scopes = identity.scopes.join(",");
  headers.set("x-keygate-key-id", identity.keyId);
  headers.set("x-keygate-tenant-id", identity.tenantId);
  headers.set("x-keygate-environment", identity.environment);
  headers.set("x-keygate-scopes", scopes);
  // An app acting for a user: which app, and for whom (none for a client's own client_credentials).
  const delegation = identity.clientId === undefined ? undefined : { clientId: identity.clientId, subject: identity.subject ?? "" };
  if (delegation) {
    headers.set("x-keygate-client-id", delegation.clientId);
    if (delegation.subject) headers.set("x-keygate-subject", delegation.subject);
  }
  if (!secret) return;
  const timestamp = String(Math.floor(signedAt / 1000));
  headers.set("x-keygate-timestamp", timestamp);
  const { keyId, tenantId, environment } = identity;
  headers.set("x-keygate-signature", await sign(secret, { timestamp, ...request, keyId, tenantId, environment, scopes, delegation }));
}

/** The origin's answer; ORIGIN_TIMEOUT_MS bounds the wait for its headers, not a long download. */
async function fetchOrigin(target: string, init: { method: string; headers: Headers; body: BodyInit | null }, timeoutMs: number): Promise<Response> {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  try {
    return await fetch(target, {
      ...init,
      redirect: "manual",
      signal: controller.signal,
      // Cloudflare's cache keys on the URL alone, not on who is calling: one tenant's response
      // must never be served to another.
      cache: "no-store",
    });
  } catch (error) {
    if (timedOut) throw new ApiError("origin_timeout", "The origin did not answer in time.");
    console.error("keygate: origin fetch failed", error);
    throw new ApiError("origin_unreachable", "The origin could not be reached.");
  } finally {
    clearTimeout(timer);
  }
}

/** The origin's response as the client gets it: streamed, without hop-by-hop headers, its URLs the client's. */
function downstream(upstream: Response, url: URL, config: Config, origin: URL): Response {
  const response = new Response(upstream.body, upstream);
  const hopByHop = hopByHopTest(response.headers);
  let urls = false;
  for (const name of dropHeaders(response.headers, hopByHop)) urls ||= URL_HEADERS.has(name);
  // Most responses carry no URL header at all: then there is nothing to look up or rewrite.
  if (urls) rewriteOriginUrls(response.headers, url, config, origin);
  return response;
}

function upstreamHeaders(incoming: Headers, url: URL, carriers: readonly Carrier[]): Headers {
  const headers = new Headers(incoming);
  const hopByHop = hopByHopTest(headers);
  dropHeaders(headers, (name) => {
    // x-api-key is keygate's own header: even where no key is checked (preflights, public paths)
    // a key sent there is not handed to the origin. Authorization may be the origin's business.
    if (hopByHop(name) || name === "host" || name === "x-api-key" || carriers.includes(name as Carrier) || CLIENT_CLAIMS.has(name)) return true;
    const dashed = name.replaceAll("_", "-");
    const forgery = dashed !== name && OWN_HEADERS.has(dashed);
    return forgery || dashed.startsWith(IDENTITY_PREFIX) || dashed.startsWith(FORWARDING_PREFIX);
  });
  setForwarding(headers, url, clientAddress(incoming));
  return headers;
}

/**
 * Deletes the headers `drop` picks, looking only at the names present, and returns the names kept.
 * Every Headers call crosses into the runtime, so one pass over what is there replaces a delete
 * per name that might be (about twenty on each proxied request, most of them for absent names).
 */
function dropHeaders(headers: Headers, drop: (name: string) => boolean): string[] {
  const kept: string[] = [];
  // keys() gives lower-case names; a copy, since deleting while iterating would skip names.
  for (const name of [...headers.keys()]) {
    if (drop(name)) headers.delete(name);
    else kept.push(name);
  }
  return kept;
}

/** Whether a (lower-case) header name is hop-by-hop: one of RFC 9110's or one Connection names. */
function hopByHopTest(headers: Headers): (name: string) => boolean {
  const named = headers.get("connection");
  if (!named) return (name) => HOP_BY_HOP.has(name);
  const listed = new Set(named.split(",").map((name) => name.trim().toLowerCase()));
  return (name) => HOP_BY_HOP.has(name) || listed.has(name);
}

/**
 * The standard forwarding headers, from what keygate knows: the client's address (from
 * CF-Connecting-IP, omitted when there is none), and the host, scheme and port the client used.
 */
function setForwarding(headers: Headers, url: URL, client: string | null): void {
  const proto = url.protocol.slice(0, -1);
  const elements = [`host=${quoted(url.host)}`, `proto=${proto}`];
  if (client !== null) {
    elements.unshift(`for=${client.includes(":") ? `"[${client}]"` : client}`);
    headers.set("x-forwarded-for", client);
    headers.set("x-real-ip", client);
  }
  headers.set("forwarded", elements.join(";"));
  headers.set("x-forwarded-host", url.host);
  headers.set("x-forwarded-proto", proto);
  headers.set("x-forwarded-port", url.port || (proto === "https" ? "443" : "80"));
}

/** RFC 7239 §4: a value that is not a token (a host with a port, say) goes in quotes. */
function quoted(value: string): string {
  return /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(value) ? value : `"${value.replace(/["\\]/g, "\\$&")}"`;
}
