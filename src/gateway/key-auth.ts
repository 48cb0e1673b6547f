import type { Context, MiddlewareHandler } from "hono";
import { extractCredential, type Carrier } from "../credentials/extract";
import { clientIp } from "../guards/throttle";
import type { Charge, Decision } from "../authority/decision";
import { limitInfos, rateLimitHeaders, tightestWindow } from "../http/ratelimit-headers";
import type { RequestVariables } from "../request-context";
import { displayForm, isWellFormedKey } from "../keys/format";
import type { Identity } from "../proxy/forward";
import type { Services } from "../services";
import { requestFacts } from "../usage/context";
import { missingCredentials, refusalError } from "./refusals";
import { isWellFormedCredential, verifyCredential } from "./verify-credential";

export interface KeyAuthVariables extends RequestVariables {
  /** Who is calling: set by keyAuth once the key's object admitted the request. */
  keygate: Identity;
  /** The headers that carried the key, so the proxy can take them off. */
  keyCarriers: Carrier[];
}

export interface KeyAuthOptions<E extends { Variables: KeyAuthVariables }> {
  /** The scopes this request needs (all of them). */
  scopes: (c: Context<E>) => readonly string[];
  /** What the request costs (ROUTE_COSTS); one request, one unit, when not given. */
  charge?: (c: Context<E>) => Charge;
  /** Whether an OAuth access token may stand in for a key (default true; the admin API's self-service takes keys only). */
  acceptTokens?: boolean;
}

/** The rate-limit headers of a decision about a usable key (none for a key that may not be used at all). */
export function decisionHeaders(decision: Decision, now: number): Record<string, string> {
  if (!("limits" in decision)) return {};
  const retryAfterMs = "retryAfterMs" in decision ? decision.retryAfterMs : null;
  return rateLimitHeaders(limitInfos(decision.limits), tightestWindow(decision.limits), now, retryAfterMs);
}

/**
 * Authenticates a request by its API key (or an OAuth access token, which stands wherever a key
 * does), as keygate's proxy and its self-service admin routes do: the credential from x-api-key,
 * Bearer or Basic; its format (no I/O); then, under the per-client failed-attempt throttle, the
 * record and the Durable Object of its key (or the token's grant), which decides and counts the
 * request (a refusal that counts as a failed attempt is counted by the throttle). An
 * admitted caller's identity is on `c.var.keygate`; every response to a valid key, refusals and
 * origin errors included, carries the key's rate-limit headers. A refusal throws the one error
 * for it, to the app's onError.
 */
export function keyAuth<E extends { Bindings: Env; Variables: KeyAuthVariables }>(options: KeyAuthOptions<E>): MiddlewareHandler<E> {
  return async (c, next) => {
    // c.get, not c.var: Hono builds a fresh object of every variable on each c.var read.
    const services: Services = c.get("services");
    const wellFormed = options.acceptTokens === false ? isWellFormedKey : isWellFormedCredential;
    const credential = extractCredential(c.req.raw.headers, (candidate) => wellFormed(candidate, services.config.keyPrefix));
    if (!credential) throw missingCredentials();
    // A malformed key costs no I/O and is not counted: refusing it is free, counting it would not be.
    if (!wellFormed(credential.key, services.config.keyPrefix)) throw refusalError("invalid", [], {});

    const { keyPrefix, logClientIps } = services.config;
    const facts = requestFacts(c.req.raw, { keyPrefix, logClientIps, requestId: c.get("requestId"), carrier: credential.style });
    const detail = () => ({ path: facts.path, display: displayForm(credential.key, keyPrefix) });
    const attempt = { kind: "credential" as const, ip: clientIp(c.req.raw.headers), detail };
    const { key, headers, scopes, delegation } = await services.throttle.guarded(attempt, async () => {
      const { key, decision, kind, delegation } = await verifyCredential(services, credential.key, options.scopes(c), facts, options.charge?.(c));
      const headers = decisionHeaders(decision, services.clock.now());
      const missing = decision.verdict === "insufficient_scope" ? decision.missingScopes : [];
      if (decision.verdict !== "valid") throw refusalError(decision.verdict, missing, headers, kind);
      return { key: key!, headers, scopes: decision.scopes, delegation };
    });
    c.set("keygate", { keyId: key.id, tenantId: key.tenantId, environment: key.environment, scopes, ...(delegation ? delegation : {}) });
    c.set("keyCarriers", credential.carriers);
    await next();
    for (const [name, value] of Object.entries(headers)) c.res.headers.set(name, value);
  };
}
