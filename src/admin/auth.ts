import type { MiddlewareHandler, Next } from "hono";
import { SELF_SERVICE_SCOPE } from "../authority/scopes";
import type { Config } from "../config";
import { keyAuth } from "../gateway/key-auth";
import { clientIp } from "../guards/failed-attempts";
import { ApiError } from "../http/errors";
import { isWellFormedKey } from "../keys/format";
import { secretsEqual } from "../keys/hash";
import type { Services } from "../services";
import { getAdmin, type AdminRow } from "../store/admin-repo";
import { MIN_SECRET_LENGTH, tooShortSecret } from "../settings";
import { sessionIsLive } from "../store/session-repo";
import type { AdminEnv } from "./context";
import { bearerToken, invalidToken, looksLikeJwt } from "./credentials";
import { verifyToken, type TokenClaims } from "./tokens";

/**
 * Who is calling: the ADMIN_TOKEN (root), a signed-in admin's JWT, or a tenant's API key with the
 * scope keys:manage (in x-api-key, as a Bearer token, or as the Basic user name), checked by the
 * gateway's own keyAuth middleware. What each may do is decided per route (permissions.ts).
 *
 * A wrong bearer token or a bad JWT counts as a failed authentication of the client, in the same
 * per-client budget as the gateway's, so the root token cannot be guessed at line rate; a client
 * over the budget is refused before its token is even compared.
 */
export const requireCaller: MiddlewareHandler<AdminEnv> = async (c, next) => {
  const authorization = c.req.header("authorization");
  if (c.req.header("x-api-key") !== undefined || /^\s*basic\b/i.test(authorization ?? "")) return selfService(c, next);
  const services = c.var.services;
  const ip = clientIp(c.req.raw.headers);
  services.failedAttempts.assertNotBlocked(ip);
  const token = await countingFailures(services, ip, async () => bearerToken(authorization));
  const config = services.config;
  const root = rootToken(config);
  if (root !== null && (await secretsEqual(token, root))) {
    c.set("principal", { kind: "root" });
  } else if (looksLikeJwt(token)) {
    const { admin } = await countingFailures(services, ip, () => verifyAdminToken(services, token));
    c.set("principal", { kind: "admin", id: admin.id, email: admin.email, role: admin.role });
  } else if (isWellFormedKey(token, config.keyPrefix)) {
    return selfService(c, next);
  } else {
    if (config.adminToken !== null && root === null) throw adminTokenTooShort();
    throw await services.failedAttempts.record(ip, invalidToken());
  }
  await next();
};

/** A tenant's key with keys:manage: exactly the gateway's check, with that scope as the one needed. */
const selfServiceAuth = keyAuth<AdminEnv>({ scopes: () => [SELF_SERVICE_SCOPE] });

function selfService(c: Parameters<MiddlewareHandler<AdminEnv>>[0], next: Next) {
  return selfServiceAuth(c, async () => {
    const { keyId, tenantId, environment, scopes } = c.var.keygate;
    c.set("principal", { kind: "key", keyId, tenantId, environment, scopes });
    await next();
  });
}

/** The ADMIN_TOKEN if it is long enough to be a credential; a short one is never compared. */
function rootToken(config: Config): string | null {
  return config.adminToken !== null && !tooShortSecret(config.adminToken) ? config.adminToken : null;
}

/** Says what is wrong, never what the token is (not even its length). */
function adminTokenTooShort(): ApiError {
  return new ApiError(
    "configuration_error",
    `keygate is misconfigured: ADMIN_TOKEN is shorter than ${MIN_SECRET_LENGTH} characters, so it is not accepted. Set a longer one (e.g. openssl rand -base64 32).`,
  );
}

/** Runs an admin-credential check; an invalid_token it throws is counted against the client. */
export async function countingFailures<T>(services: Services, ip: string, check: () => Promise<T>): Promise<T> {
  try {
    return await check();
  } catch (error) {
    if (error instanceof ApiError && error.code === "invalid_token") throw await services.failedAttempts.record(ip, error);
    throw error;
  }
}

/**
 * An admin's token is checked against D1 on every call, so deleting an admin or changing their
 * role takes effect at once rather than when the token expires; a password change moves the
 * admin's session epoch on, which ends every token issued before it. A token of a console session
 * (`sid`) also needs that session to be live: signing out ends its tokens at once.
 */
export async function verifyAdminToken(services: Services, token: string): Promise<{ admin: AdminRow; claims: TokenClaims }> {
  const claims = await verifyToken(services.config, token);
  const admin = await getAdmin(services.db, claims.sub);
  if (!admin || admin.session_epoch !== claims.epoch) throw invalidToken();
  if (claims.sid !== undefined && !(await sessionIsLive(services.db, claims.sid, admin.id, services.clock.now()))) throw invalidToken("The session has ended: sign in again.");
  return { admin, claims };
}
