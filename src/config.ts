import { DEFAULT_ACCESS_TOKEN_TTL_SECONDS, DEFAULT_REFRESH_TOKEN_TTL_SECONDS } from "./authority/oauth";
import { globToRegExp, publicPath, type CostRule, type PublicPath, type RouteMatch, type RouteRule, type RouteRules } from "./authority/routes";
import { MAX_COST } from "./authority/plan";
import { SCOPE_PATTERN } from "./authority/scopes";
import { MAX_LIMIT, MAX_WINDOW_SECONDS } from "./authority/window";
import { ADMIN_ROLES, isAdminRole, type AdminRole } from "./authority/roles";
import { isLoopbackHost, readOriginUrl } from "./settings";

export interface Config extends RouteRules {
  originUrl: URL | null;
  originUrlTest: URL | null;
  originTimeoutMs: number;
  originSigningSecret: string | null;
  keyPrefix: string;
  rateLimitFailOpen: boolean;
  defaultRateLimit: { limit: number; windowSeconds: number };
  /** Failed authentications (keys, admin tokens, session cookies) per client, counted after each check. */
  failedAuth: AttemptLimit;
  /** Password checks (sign-ins, password changes), counted before each check, per email and per client. */
  passwordAttempts: { perEmail: AttemptLimit; perIp: AttemptLimit };
  adminToken: string | null;
  jwtSecret: string | null;
  /** Whether usage records keep client addresses (a key's events and last use, failures per IP). */
  logClientIps: boolean;
  /** A console session unused this long ends (SESSION_IDLE_MINUTES). */
  sessionIdleMinutes: number;
  /** Single sign-on with an OpenID Connect provider; null when OIDC_ISSUER is not set. */
  sso: SsoConfig | null;
  oauth: OAuthSettings;
}

export interface SsoConfig {
  /** The provider's issuer exactly as its ID tokens name it (https, or http on loopback). */
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** What the console's button says: "Sign in with <providerName>". */
  providerName: string;
  /** Email domains whose unknown addresses become admins with defaultRole (lower-case). */
  allowedDomains: string[];
  /** The role of an admin made by a first single sign-on; null: unknown emails are refused. */
  defaultRole: AdminRole | null;
  /** Whether a provider's `amr` claim saying "mfa" stands in for keygate's second factor. */
  trustProviderMfa: boolean;
}

/** keygate as an OAuth 2.1 authorization server for the API it fronts (see docs/oauth.md). */
export interface OAuthSettings {
  /** The operator's sign-in and consent page; without it no user can authorize an app. */
  consentUrl: URL | null;
  /** RFC 7591: apps may register themselves (off unless OAUTH_DYNAMIC_REGISTRATION=true). */
  dynamicRegistration: boolean;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
}

export interface AttemptLimit {
  limit: number;
  windowSeconds: number;
}

const STANDARD_METHODS = ["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"];
/** Stands for any method no rule names: it meets only `*` rules, and needs "write" otherwise. */
const ANY_OTHER_METHOD = "\u0000OTHER";

const KEY_PREFIX_PATTERN = /^[a-z][a-z0-9]{0,15}$/;

// Bindings are fixed for the life of an isolate, so each env object is parsed once.
const parsed = new WeakMap<object, Config>();

/** The one place settings are read: every binding is validated here, never at the use site. */
export function readConfig(env: Env): Config {
  let config = parsed.get(env);
  if (!config) {
    config = parseConfig(env);
    parsed.set(env, config);
  }
  return config;
}

function parseConfig(env: Env): Config {
  const keyPrefix = (env.KEY_PREFIX || "kg").trim();
  if (!KEY_PREFIX_PATTERN.test(keyPrefix)) {
    throw misconfigured("KEY_PREFIX", "must be 1-16 lower-case letters or digits, starting with a letter");
  }
  const routeScopes = parseRouteScopes(env.ROUTE_SCOPES);
  return {
    originUrl: originUrl("ORIGIN_URL", env.ORIGIN_URL),
    originUrlTest: originUrl("ORIGIN_URL_TEST", env.ORIGIN_URL_TEST),
    originTimeoutMs: positiveInt("ORIGIN_TIMEOUT_MS", env.ORIGIN_TIMEOUT_MS, 30_000),
    originSigningSecret: env.ORIGIN_SIGNING_SECRET || null,
    keyPrefix,
    routeScopes,
    routeCosts: parseRouteCosts(env.ROUTE_COSTS),
    everyMethod: [...new Set([...STANDARD_METHODS, ...routeScopes.map((rule) => rule.method).filter((m) => m !== "*"), ANY_OTHER_METHOD])],
    publicPaths: parsePublicPaths(env.PUBLIC_PATHS),
    rateLimitFailOpen: (env.RATE_LIMIT_FAIL_OPEN || "false").trim().toLowerCase() === "true",
    defaultRateLimit: {
      // The same bounds as a key's own rate_limit: a default the admin API would refuse is no default.
      limit: positiveInt("DEFAULT_RATE_LIMIT", env.DEFAULT_RATE_LIMIT, 60, MAX_LIMIT),
      windowSeconds: positiveInt("DEFAULT_RATE_WINDOW_SECONDS", env.DEFAULT_RATE_WINDOW_SECONDS, 60, MAX_WINDOW_SECONDS),
    },
    failedAuth: {
      limit: positiveInt("FAILED_AUTH_LIMIT", env.FAILED_AUTH_LIMIT, 30),
      windowSeconds: positiveInt("FAILED_AUTH_WINDOW_SECONDS", env.FAILED_AUTH_WINDOW_SECONDS, 60),
    },
    passwordAttempts: passwordAttempts(env),
    adminToken: env.ADMIN_TOKEN || null,
    jwtSecret: env.JWT_SECRET || null,
    logClientIps: bool("LOG_CLIENT_IPS", env.LOG_CLIENT_IPS, true),
    sessionIdleMinutes: positiveInt("SESSION_IDLE_MINUTES", env.SESSION_IDLE_MINUTES, 30, 24 * 60),
    sso: ssoConfig(env),
    oauth: {
      consentUrl: consentUrl(env.OAUTH_CONSENT_URL),
      dynamicRegistration: bool("OAUTH_DYNAMIC_REGISTRATION", env.OAUTH_DYNAMIC_REGISTRATION, false),
      accessTokenTtlSeconds: positiveInt("OAUTH_ACCESS_TOKEN_TTL_SECONDS", env.OAUTH_ACCESS_TOKEN_TTL_SECONDS, DEFAULT_ACCESS_TOKEN_TTL_SECONDS, 86_400),
      refreshTokenTtlSeconds: positiveInt("OAUTH_REFRESH_TOKEN_TTL_SECONDS", env.OAUTH_REFRESH_TOKEN_TTL_SECONDS, DEFAULT_REFRESH_TOKEN_TTL_SECONDS, 365 * 86_400),
    },
  };
}

const DOMAIN_PATTERN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

/**
 * OIDC_ISSUER turns single sign-on on; it then needs the client's id and secret. The issuer is
 * https (http only on this machine, for a provider under test): its discovery document and keys
 * decide who may sign in. Owner is no default role: an unknown person must never become one by
 * signing in.
 */
function ssoConfig(env: Env): SsoConfig | null {
  const raw = (env.OIDC_ISSUER ?? "").trim();
  if (raw === "") return null;
  let issuer: URL;
  try {
    issuer = new URL(raw);
  } catch {
    throw misconfigured("OIDC_ISSUER", "must be the provider's https URL");
  }
  if (issuer.protocol !== "https:" && !(issuer.protocol === "http:" && isLoopbackHost(issuer.hostname))) {
    throw misconfigured("OIDC_ISSUER", "must be the provider's https URL");
  }
  const clientId = (env.OIDC_CLIENT_ID ?? "").trim();
  const clientSecret = env.OIDC_CLIENT_SECRET ?? "";
  if (!clientId) throw misconfigured("OIDC_CLIENT_ID", "must be set when OIDC_ISSUER is (the client id the provider gave keygate)");
  if (!clientSecret) throw misconfigured("OIDC_CLIENT_SECRET", "must be set when OIDC_ISSUER is (a secret: `wrangler secret put OIDC_CLIENT_SECRET`)");
  const allowedDomains = (env.OIDC_ALLOWED_DOMAINS ?? "").split(",").map((d) => d.trim().toLowerCase()).filter(Boolean);
  for (const domain of allowedDomains) {
    if (!DOMAIN_PATTERN.test(domain)) throw misconfigured("OIDC_ALLOWED_DOMAINS", `entry "${domain}" is not a domain name like example.com`);
  }
  const role = (env.OIDC_DEFAULT_ROLE ?? "").trim();
  if (role !== "" && (!isAdminRole(role) || role === "owner")) {
    throw misconfigured("OIDC_DEFAULT_ROLE", `must be one of ${ADMIN_ROLES.filter((r) => r !== "owner").join(", ")}`);
  }
  return {
    issuer: raw,
    clientId,
    clientSecret,
    providerName: (env.OIDC_PROVIDER_NAME ?? "").trim() || issuer.hostname,
    allowedDomains,
    defaultRole: role === "" ? null : (role as AdminRole),
    trustProviderMfa: bool("OIDC_TRUST_PROVIDER_MFA", env.OIDC_TRUST_PROVIDER_MFA, false),
  };
}

/** Where a user approves an app: an http(s) URL to which keygate adds `?request=…`. */
function consentUrl(raw: string | undefined): URL | null {
  if (raw === undefined || raw.trim() === "") return null;
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw misconfigured("OAUTH_CONSENT_URL", "is not an absolute URL");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw misconfigured("OAUTH_CONSENT_URL", "must be an http(s) URL");
  if (url.hash) throw misconfigured("OAUTH_CONSENT_URL", "must not have a fragment");
  return url;
}

/**
 * Password guessing is slow work for an attacker only if few guesses are answered: 10 per email
 * and 30 per client address in 15 minutes by default, every attempt counted (see guards/throttle.ts).
 */
function passwordAttempts(env: Env): Config["passwordAttempts"] {
  const windowSeconds = positiveInt("SIGNIN_WINDOW_SECONDS", env.SIGNIN_WINDOW_SECONDS, 900);
  return {
    perEmail: { limit: positiveInt("SIGNIN_LIMIT_PER_EMAIL", env.SIGNIN_LIMIT_PER_EMAIL, 10), windowSeconds },
    perIp: { limit: positiveInt("SIGNIN_LIMIT_PER_IP", env.SIGNIN_LIMIT_PER_IP, 30), windowSeconds },
  };
}

function parsePublicPaths(raw: string | undefined): PublicPath[] {
  const globs = (raw || "").split(",").map((p) => p.trim()).filter(Boolean);
  for (const glob of globs) {
    // "health" would silently never match; a typo here must not look like a working setting.
    if (!glob.startsWith("/")) throw misconfigured("PUBLIC_PATHS", `entry "${glob}" must start with "/"`);
  }
  return globs.map(publicPath);
}

function parseRouteScopes(raw: string | undefined): RouteRule[] {
  return parseRouteRules("ROUTE_SCOPES", raw, (i) => `entry ${i} needs {method, path: "/…", scope} with a scope keys can hold, like "servers" or "write:servers"`, ({ scope }) =>
    typeof scope === "string" && SCOPE_PATTERN.test(scope) ? { scope } : null,
  );
}

function parseRouteCosts(raw: string | undefined): CostRule[] {
  return parseRouteRules("ROUTE_COSTS", raw, (i) => `entry ${i} needs {method, path: "/…", cost} with a whole cost from 0 to ${MAX_COST}`, ({ cost }) =>
    Number.isInteger(cost) && (cost as number) >= 0 && (cost as number) <= MAX_COST ? { cost: cost as number } : null,
  );
}

/**
 * A JSON list of `{method, path, …}` rules in the route grammar (ROUTE_SCOPES, ROUTE_COSTS): each
 * entry's own field is read by `own`, null when it is not valid; `need` says what entry `i` needs.
 */
function parseRouteRules<T extends object>(name: string, raw: string | undefined, need: (i: number) => string, own: (entry: Record<string, unknown>) => T | null): (RouteMatch & T)[] {
  if (!raw || !raw.trim()) return [];
  let rules: unknown;
  try {
    rules = JSON.parse(raw);
  } catch {
    throw misconfigured(name, "is not valid JSON");
  }
  if (!Array.isArray(rules)) throw misconfigured(name, "must be a JSON list");
  return rules.map((rule, i) => {
    const entry = (rule ?? {}) as Record<string, unknown>;
    const { method = "*", path } = entry;
    const value = own(entry);
    if (typeof method !== "string" || typeof path !== "string" || !path.startsWith("/") || value === null) throw misconfigured(name, need(i));
    const exact = globToRegExp(path);
    return { method: method.toUpperCase(), path: exact, pathFolded: new RegExp(exact.source, "i"), ...value };
  });
}

/** The same rule `npm run dev` and `npm run deploy` apply (src/settings.ts); empty is not set. */
function originUrl(name: string, raw: string | undefined): URL | null {
  const { url, problem } = readOriginUrl(raw);
  if (problem) throw misconfigured(name, problem);
  return url;
}

function positiveInt(name: string, raw: string | undefined, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  if (raw === undefined || raw.trim() === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw misconfigured(name, "must be a positive whole number");
  if (value > max) throw misconfigured(name, `must be at most ${max}`);
  return value;
}

function bool(name: string, raw: string | undefined, fallback: boolean): boolean {
  const value = (raw ?? "").trim().toLowerCase();
  if (value === "") return fallback;
  if (value !== "true" && value !== "false") throw misconfigured(name, 'must be "true" or "false"');
  return value === "true";
}

/** A setting keygate cannot run with. The HTTP layer answers it as 500 configuration_error, saying which and why. */
export class ConfigurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigurationError";
  }
}

/** `problem` completes "<name> …": "keygate is misconfigured: <name> <problem>." */
export function misconfigured(name: string, problem: string): ConfigurationError {
  return new ConfigurationError(`keygate is misconfigured: ${name} ${problem}.`);
}
