import type { Context, MiddlewareHandler } from "hono";
import type { Config } from "../config";
import { authenticate } from "../gateway/authenticate";
import { assertNotBlocked, clientIp, failedAttempt } from "../gateway/failed-attempts";
import { ApiError } from "../http/errors";
import { isWellFormedKey } from "../keys/format";
import { secretsEqual } from "../keys/hash";
import { getAdmin, type AdminRow } from "../store/admin-repo";
import type { AdminEnv } from "./context";
import { bearerToken, invalidToken, looksLikeJwt } from "./credentials";
import { verifyToken, type TokenClaims } from "./tokens";

/** The scope a tenant's API key needs to manage its tenant's keys. */
export const SELF_SERVICE_SCOPE = "keys:manage";

/** A root credential must not be guessable: as long as a random 32-character token at the least. */
export const MIN_ADMIN_TOKEN_LENGTH = 32;

/**
 * Who is calling: the ADMIN_TOKEN (root), a signed-in admin's JWT, or a tenant's API key with the
 * scope keys:manage (in x-api-key, as a Bearer token, or as the Basic user name, as on the
 * gateway). What each may do is decided per route (permissions.ts).
 *
 * A wrong bearer token or a bad JWT counts as a failed authentication of the client, in the same
 * per-client budget as the gateway's, so the root token cannot be guessed at line rate; a client
 * over the budget is refused before its token is even compared.
 */
export const requireCaller: MiddlewareHandler<AdminEnv> = async (c, next) => {
  let rateLimitHeaders: Record<string, string> = {};
  const authorization = c.req.header("authorization");
  if (c.req.header("x-api-key") !== undefined || /^\s*basic\b/i.test(authorization ?? "")) {
    rateLimitHeaders = await selfService(c);
  } else {
    const ip = clientIp(c.req.raw);
    assertNotBlocked(ip);
    const token = await countingFailures(c, ip, async () => bearerToken(authorization));
    const config = c.var.config;
    const root = rootToken(config);
    if (root !== null && (await secretsEqual(token, root))) {
      c.set("principal", { kind: "root" });
    } else if (looksLikeJwt(token)) {
      const { admin } = await countingFailures(c, ip, () => verifyAdminToken(c, token));
      c.set("principal", { kind: "admin", id: admin.id, email: admin.email, role: admin.role });
    } else if (isWellFormedKey(token, config.keyPrefix)) {
      rateLimitHeaders = await selfService(c);
    } else {
      if (config.adminToken !== null && root === null) throw adminTokenTooShort();
      throw await failedAttempt(c.env, config, ip, invalidToken());
    }
  }
  await next();
  for (const [name, value] of Object.entries(rateLimitHeaders)) c.res.headers.set(name, value);
};

/** The ADMIN_TOKEN if it is long enough to be a credential; a short one is never compared. */
function rootToken(config: Config): string | null {
  return config.adminToken !== null && config.adminToken.length >= MIN_ADMIN_TOKEN_LENGTH ? config.adminToken : null;
}

/** Says what is wrong, never what the token is (not even its length). */
function adminTokenTooShort(): ApiError {
  return new ApiError(
    "configuration_error",
    `keygate is misconfigured: ADMIN_TOKEN is shorter than ${MIN_ADMIN_TOKEN_LENGTH} characters, so it is not accepted. Set a longer one (e.g. openssl rand -base64 32).`,
  );
}

/** Runs an admin-credential check; an invalid_token it throws is counted against the client. */
export async function countingFailures<T>(c: Context<AdminEnv>, ip: string, check: () => Promise<T>): Promise<T> {
  try {
    return await check();
  } catch (error) {
    if (error instanceof ApiError && error.code === "invalid_token") throw await failedAttempt(c.env, c.var.config, ip, error);
    throw error;
  }
}

/**
 * An admin's token is checked against D1 on every call, so deleting an admin or changing their
 * role takes effect at once rather than when the token expires; a password change moves the
 * admin's session epoch on, which ends every token issued before it.
 */
export async function verifyAdminToken(c: Context<AdminEnv>, token: string): Promise<{ admin: AdminRow; claims: TokenClaims }> {
  const claims = await verifyToken(c.var.config, token);
  const admin = await getAdmin(c.env.DB, claims.sub);
  if (!admin || admin.session_epoch !== claims.epoch) throw invalidToken();
  return { admin, claims };
}

/**
 * Exactly the gateway's check (format, lookup, the key's Durable Object: revocation, expiry,
 * tenant status, its rate limit, failed-attempt counting), with keys:manage as the needed scope.
 */
async function selfService(c: Context<AdminEnv>): Promise<Record<string, string>> {
  // Hono types the context it was given by its own narrower interface; it is the Workers one.
  const ctx = c.executionCtx as unknown as ExecutionContext;
  const caller = await authenticate(c.req.raw, c.env, ctx, c.var.config, [SELF_SERVICE_SCOPE]);
  c.set("principal", { kind: "key", keyId: caller.keyId, tenantId: caller.tenantId, environment: caller.environment, scopes: caller.scopes });
  return caller.rateLimitHeaders;
}
