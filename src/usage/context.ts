import { spelledPath } from "../authority/routes";
import { TOKEN_MARKERS } from "../keys/token-format";
import { storedAddress } from "./addresses";

/** How the key reached keygate: the header style, or a verification (HTTP verify or RPC). */
export type KeyCarrier = "x-api-key" | "bearer" | "basic" | "verify";

/**
 * Who used a key, from where, for what: what the key's object records with each decision. Built
 * by the worker from the request; never holds the key, an Authorization value or a query string.
 */
export interface UseContext {
  keyId: string;
  tenantId: string;
  method: string | null;
  /** The path without its query, key-shaped text replaced (see scrub). */
  path: string | null;
  /** null when LOG_CLIENT_IPS=false or the address is unknown. */
  ip: string | null;
  country: string | null;
  /** The first 64 characters of the User-Agent. */
  userAgent: string | null;
  requestId: string | null;
  carrier: KeyCarrier;
}

/** What the worker knows about a request before the key is looked up (the key's ids come after). */
export type RequestFacts = Omit<UseContext, "keyId" | "tenantId">;

const USER_AGENT_CHARS = 64;
const PATH_CHARS = 512;

/**
 * Anything that looks like one of our credentials, replaced by its head and `…`: a key
 * (`<prefix>_live_…`, `<prefix>_test_…`) or an OAuth token, code or client secret (`<prefix>_at_…`,
 * `_rt_`, `_ac_`, `_cs_`). A client that puts one in a path or its user agent must not get it stored.
 */
export function scrub(text: string, keyPrefix: string): string {
  // Nearly every request has nothing to cut: a substring test spares it the regular expression.
  if (!text.includes(`${keyPrefix}_`)) return text;
  let pattern = CREDENTIAL_PATTERNS.get(keyPrefix);
  if (!pattern) {
    const markers = ["live", "test", ...Object.values(TOKEN_MARKERS)].join("|");
    CREDENTIAL_PATTERNS.set(keyPrefix, (pattern = new RegExp(`${keyPrefix}_(${markers})_[0-9A-Za-z]+`, "g")));
  }
  return text.replace(pattern, `${keyPrefix}_$1_…`);
}

/** One compiled pattern per key prefix (the prefix is fixed per deployment). */
const CREDENTIAL_PATTERNS = new Map<string, RegExp>();

/** A path as recorded: no query, no fragment, no key, bounded. */
export function recordedPath(path: string, keyPrefix: string): string {
  const end = path.search(/[?#]/);
  return scrub(end === -1 ? path : path.slice(0, end), keyPrefix).slice(0, PATH_CHARS);
}

/** The facts of an HTTP request (proxied, self-service admin call, or HTTP verification). */
export function requestFacts(
  request: Request,
  init: { keyPrefix: string; logClientIps: boolean; requestId: string; carrier: KeyCarrier; method?: string | null; path?: string | null },
): RequestFacts {
  const userAgent = request.headers.get("user-agent");
  const country = (request as Request<unknown, IncomingRequestCfProperties>).cf?.country;
  const path = init.path === undefined ? spelledPath(request.url) : init.path;
  return {
    method: init.method === undefined ? request.method : init.method,
    path: path === null ? null : recordedPath(path, init.keyPrefix),
    ip: storedAddress(init, request.headers),
    country: typeof country === "string" ? country : null,
    userAgent: userAgent === null ? null : scrub(userAgent, init.keyPrefix).slice(0, USER_AGENT_CHARS),
    requestId: init.requestId,
    carrier: init.carrier,
  };
}

/**
 * A verification's facts: the method and path it asks about (not the verify call's own; the path
 * as its scopes were read from it), the calling service's address and request over HTTP, nothing
 * about a caller over RPC.
 */
export function verificationFacts(
  { method, path }: { method: string | null; path: string | null },
  init: { keyPrefix: string; logClientIps: boolean; request?: Request; requestId?: string },
): RequestFacts {
  if (init.request && init.requestId) return requestFacts(init.request, { ...init, requestId: init.requestId, carrier: "verify", method, path });
  return { method, path: path === null ? null : recordedPath(path, init.keyPrefix), ip: null, country: null, userAgent: null, requestId: null, carrier: "verify" };
}
