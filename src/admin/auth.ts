import type { Context, MiddlewareHandler } from "hono";
import { authenticate } from "../gateway/authenticate";
import { parseKey } from "../keys/format";
import { secretsEqual } from "../keys/hash";
import { getAdmin } from "../store/admin-repo";
import type { AdminEnv, Principal } from "./context";
import { bearerToken, invalidToken, looksLikeJwt } from "./credentials";
import { verifyToken } from "./tokens";

/** The scope a tenant's API key needs to manage its tenant's keys. */
export const SELF_SERVICE_SCOPE = "keys:manage";

/**
 * Who is calling: the ADMIN_TOKEN (root), a signed-in admin's JWT, or a tenant's API key with the
 * scope keys:manage (in x-api-key, as a Bearer token, or as the Basic user name, as on the
 * gateway). What each may do is decided per route (permissions.ts).
 */
export const requireCaller: MiddlewareHandler<AdminEnv> = async (c, next) => {
  let rateLimitHeaders: Record<string, string> = {};
  const authorization = c.req.header("authorization");
  if (c.req.header("x-api-key") !== undefined || /^\s*basic\b/i.test(authorization ?? "")) {
    rateLimitHeaders = await selfService(c);
  } else {
    const token = bearerToken(authorization);
    const { adminToken, keyPrefix } = c.var.config;
    if (adminToken && (await secretsEqual(token, adminToken))) c.set("principal", { kind: "root" });
    else if (looksLikeJwt(token)) c.set("principal", await signedInAdmin(c, token));
    else if (parseKey(token, keyPrefix)) rateLimitHeaders = await selfService(c);
    else throw invalidToken();
  }
  await next();
  for (const [name, value] of Object.entries(rateLimitHeaders)) c.res.headers.set(name, value);
};

/**
 * An admin's token is checked against D1 on every call, so deleting an admin or changing their
 * role takes effect at once rather than when the token expires.
 */
export async function signedInAdmin(c: Context<AdminEnv>, token: string): Promise<Principal & { kind: "admin" }> {
  const claims = await verifyToken(c.var.config, token);
  const admin = await getAdmin(c.env.DB, claims.sub);
  if (!admin) throw invalidToken();
  return { kind: "admin", id: admin.id, email: admin.email, role: admin.role };
}

/**
 * Exactly the gateway's check (format, lookup, the key's Durable Object: revocation, expiry,
 * tenant status, its rate limit, failed-attempt counting), with keys:manage as the needed scope.
 */
async function selfService(c: Context<AdminEnv>): Promise<Record<string, string>> {
  // Hono types the context it was given by its own narrower interface; it is the Workers one.
  const ctx = c.executionCtx as unknown as ExecutionContext;
  const caller = await authenticate(c.req.raw, c.env, ctx, c.var.config, [SELF_SERVICE_SCOPE]);
  c.set("principal", { kind: "key", keyId: caller.keyId, tenantId: caller.tenantId, scopes: caller.scopes });
  return caller.rateLimitHeaders;
}
