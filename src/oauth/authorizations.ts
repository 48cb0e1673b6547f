import { CODE_TTL_SECONDS, REQUEST_TTL_SECONDS, scopesBeyond } from "../authority/oauth";
import { ApiError } from "../http/errors";
import { hashKey } from "../keys/hash";
import { prefixedId } from "../keys/random";
import { generateToken } from "../keys/token-format";
import type { Services } from "../services";
import { isUniqueViolation } from "../store/errors";
import { getLiveClient } from "../store/oauth-client-repo";
import { insertCode, pruneCodes } from "../store/oauth-token-repo";
import { getTenant } from "../store/tenant-repo";
import { auditStatement, type Actor } from "../store/audit-trail";
import { readRequest, type AuthorizationRequest } from "./requests";

/**
 * The consent page's half of an authorization: it signed its user in and asked them; keygate
 * checks that the request is one it signed and that it was not completed before, then answers with
 * where the browser goes next: back to the app with a code (approved) or with `access_denied`.
 */
export type Decision = { decision: "approve"; tenantId: string; subject: string; scopes?: string[] } | { decision: "deny" };

export async function completeAuthorization(services: Services, actor: Actor, token: string, decision: Decision): Promise<string> {
  const { db, config } = services;
  const now = services.clock.now();
  const request = await readRequest(config, token, now);
  if (!request) {
    throw new ApiError("invalid_request", "The request is not one keygate signed, or it has expired: the app must start the authorization again.", {
      fields: [{ field: "request", message: "is not a valid, unexpired authorization request" }],
    });
  }
  const client = await getLiveClient(db, request.clientId);
  if (!client) throw new ApiError("conflict", "The app's registration was deleted meanwhile.");
  if (!client.redirectUris.includes(request.redirectUri)) throw new ApiError("conflict", "The app's redirect URI was removed from its registration meanwhile.");
  const completed = { requestId: request.id, clientId: client.id, redirectUri: request.redirectUri, codeChallenge: request.codeChallenge, createdAt: now };
  if (decision.decision === "deny") {
    const row = { ...completed, codeHash: null, tenantId: null, subject: null, scopes: null, grantId: null, expiresAt: now + CODE_TTL_SECONDS * 1000 };
    await completeOnce(db, [insertCode(db, row), auditStatement(db, actor, "oauth_authorization.denied", { type: "oauth_client", id: client.id, tenantId: client.tenantId }, now)]);
    return redirectBack(request, { error: "access_denied", error_description: "The user did not allow the app." });
  }

  const tenant = await getTenant(db, decision.tenantId);
  if (!tenant) throw new ApiError("not_found", "No such tenant.", { field: "tenant_id" });
  if (tenant.status !== "active") throw new ApiError("conflict", "The tenant is suspended: its users cannot authorize apps.");
  const scopes = decision.scopes ?? request.scopes.filter((scope) => client.scopes.includes(scope));
  assertScopes(scopesBeyond(scopes, request.scopes), "the app did not ask for");
  assertScopes(scopesBeyond(scopes, client.scopes), "the app may no longer be granted");
  if (scopes.length === 0) {
    throw new ApiError("invalid_request", "Nothing is left to grant: the app may no longer be granted any scope it asked for.", {
      fields: [{ field: "scopes", message: "must name at least one scope" }],
    });
  }

  const code = generateToken(config.keyPrefix, "code");
  const grantId = prefixedId("grt");
  const row = { ...completed, codeHash: await hashKey(code), tenantId: tenant.id, subject: decision.subject, scopes, grantId, expiresAt: now + CODE_TTL_SECONDS * 1000 };
  const details = { client_id: client.id, subject: decision.subject, scopes, request_id: request.id };
  await completeOnce(db, [
    insertCode(db, row),
    auditStatement(db, actor, "oauth_authorization.approved", { type: "oauth_grant", id: grantId, tenantId: tenant.id }, now, details),
    // Rows whose request could no longer be completed nor their code exchanged.
    pruneCodes(db, now - REQUEST_TTL_SECONDS * 1000),
  ]);
  return redirectBack(request, { code });
}

function assertScopes(excess: string[], why: string): void {
  if (excess.length === 0) return;
  throw new ApiError("invalid_request", `The scopes ${excess.join(", ")} ${why}.`, { fields: [{ field: "scopes", message: `${excess.join(", ")}: ${why}` }] });
}

/** The request's row is its one completion: a second completion of the same request is refused. */
async function completeOnce(db: D1Database, statements: D1PreparedStatement[]): Promise<void> {
  try {
    await db.batch(statements);
  } catch (error) {
    if (isUniqueViolation(error)) throw new ApiError("conflict", "This authorization request was already completed.");
    throw error;
  }
}

/**
 * The app's redirect URI, exactly as registered, with the answer's parameters, the request's
 * `state` and keygate's issuer (RFC 9207, against mix-up attacks) added to its query.
 */
export function redirectBack(request: Pick<AuthorizationRequest, "redirectUri" | "state" | "issuer">, params: Record<string, string>): string {
  const query = new URLSearchParams(params);
  if (request.state !== null) query.set("state", request.state);
  query.set("iss", request.issuer);
  return `${request.redirectUri}${request.redirectUri.includes("?") ? "&" : "?"}${query}`;
}
