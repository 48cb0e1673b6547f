import type { MiddlewareHandler, Next } from "hono";
import { SELF_SERVICE_SCOPE } from "../authority/scopes";
import type { Config } from "../config";
import { keyAuth } from "../gateway/key-auth";
import { clientIp } from "../guards/throttle";
import { ApiError } from "../http/errors";
import { sessionEnd } from "../identity/session-policy";
import { isWellFormedKey } from "../keys/format";
import { secretsEqual } from "../keys/hash";
import type { Services } from "../services";
import { getAdmin, type AdminRow } from "../store/admin-repo";
import { MIN_SECRET_LENGTH, tooShortSecret } from "../settings";
import { getSession } from "../store/session-repo";
import type { AdminEnv, Principal } from "./context";
import { bearerToken, invalidToken, looksLikeJwt, sessionEnded } from "./credentials";
import { verifyToken, type TokenClaims } from "./tokens";

/**
 * Who is calling: the ADMIN_TOKEN (root), a signed-in admin's JWT, or a tenant's API key with the
 * scope keys:manage (in x-api-key, as a Bearer token, or as the Basic user name), checked by the
 * gateway's own keyAuth middleware. What each may do is decided per route (permissions.ts).
 *
 * A wrong bearer token or a bad JWT counts as a failed authentication of the client, in the same
 * per-client budget as the gateway's (the throttle's `credential` attempts), so the root token
 * cannot be guessed at line rate; a client over the budget is refused before its token is even
 * compared.
 */
export const requireCaller: MiddlewareHandler<AdminEnv> = async (c, next) => {
  const authorization = c.req.header("authorization");
  if (c.req.header("x-api-key") !== undefined || /^\s*basic\b/i.test(authorization ?? "")) return selfService(c, next);
  const services = c.var.services;
  const config = services.config;
  const attempt = { kind: "credential" as const, ip: clientIp(c.req.raw.headers) };
  const principal = await services.throttle.guarded(attempt, async (): Promise<Principal | "key"> => {
    const token = bearerToken(authorization);
    const root = rootToken(config);
    if (root !== null && (await secretsEqual(token, root))) return { kind: "root" };
    if (looksLikeJwt(token)) {
      const { admin } = await verifyAdminToken(services, token);
      return { kind: "admin", id: admin.id, email: admin.email, role: admin.role };
    }
    if (isWellFormedKey(token, config.keyPrefix)) return "key";
    if (config.adminToken !== null && root === null) throw adminTokenTooShort();
    throw invalidToken();
  });
  // A tenant's key as a Bearer token: checked (and counted) by the gateway's own keyAuth.
  if (principal === "key") return selfService(c, next);
  c.set("principal", principal);
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

/**
 * An admin's token is checked against D1 on every call, so deleting an admin or changing their
 * role takes effect at once rather than when the token expires; a password change moves the
 * admin's session epoch on, which ends every token issued before it. A token of a console session
 * (`sid`) also needs that session to be live (session-policy.ts): signing out ends its tokens at once.
 */
export async function verifyAdminToken(services: Services, token: string): Promise<{ admin: AdminRow; claims: TokenClaims }> {
  const claims = await verifyToken(services, token);
  const admin = await getAdmin(services.db, claims.sub);
  if (!admin || admin.session_epoch !== claims.epoch) throw invalidToken();
  if (claims.sid !== undefined) {
    const end = sessionEnd(await getSession(services.db, claims.sid), admin, services.clock.now());
    if (end !== null) throw sessionEnded(end);
  }
  return { admin, claims };
}
