import type { MiddlewareHandler, Next } from "hono";
import { SELF_SERVICE_SCOPE } from "../authority/scopes";
import type { Config } from "../config";
import { keyAuth } from "../gateway/key-auth";
import { clientIp } from "../guards/throttle";
import { ApiError } from "../http/errors";
import { authenticatedAt, sessionEnd, useWorthRecording } from "../identity/session-policy";
import { isWellFormedKey } from "../keys/format";
import { secretsEqual } from "../keys/hash";
import type { Services } from "../services";
import { getAdmin, type AdminRow } from "../store/admin-repo";
import { MIN_SECRET_LENGTH, tooShortSecret } from "../settings";
import { getSession, recordSessionUse, type SessionRow } from "../store/session-repo";
import { storedAddress } from "../usage/addresses";
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
      const { admin, claims, session } = await verifyAdminToken(services, token, c.req.raw.headers);
      return {
        kind: "admin",
        id: admin.id,
        email: admin.email,
        role: admin.role,
        session: session
          ? { id: session.id, authenticatedAt: authenticatedAt(session), enrolmentOnly: session.enrolment_only === 1 }
          : { id: null, authenticatedAt: claims.auth_time * 1000, enrolmentOnly: false },
        row: admin,
      };
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

/**
 * A tenant's key with keys:manage: exactly the gateway's check, with that scope as the one needed.
 * Only a key: an app's access token acts on the API for a user, never on the tenant's keys.
 */
const selfServiceAuth = keyAuth<AdminEnv>({ scopes: () => [SELF_SERVICE_SCOPE], acceptTokens: false });

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
 * admin's session epoch on, which ends every token issued before it. A token of a session (`sid`)
 * also needs that session to be live (session-policy.ts): signing out ends its tokens at once, and
 * a console session unused for SESSION_IDLE_MINUTES ends. A call with `headers` is a use of the
 * session, written down at most once a minute (the idle limit's clock), never on every call.
 */
export async function verifyAdminToken(
  services: Services,
  token: string,
  headers?: Headers,
): Promise<{ admin: AdminRow; claims: TokenClaims; session: SessionRow | null }> {
  const claims = await verifyToken(services.config, token, services.clock.now());
  const admin = await getAdmin(services.db, claims.sub);
  if (!admin || admin.session_epoch !== claims.epoch) throw invalidToken();
  if (claims.sid === undefined) return { admin, claims, session: null };
  const session = await getSession(services.db, claims.sid);
  const now = services.clock.now();
  const end = sessionEnd(session, admin, now, services.config);
  if (end !== null) throw sessionEnded(end, services.config);
  if (headers && useWorthRecording(session!, now)) {
    await recordSessionUse(services.db, session!.id, now, storedAddress(services.config, headers)).run();
  }
  return { admin, claims, session };
}
