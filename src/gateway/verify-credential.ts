import { decideWithoutLimits, invalidKeyDecision, ONE_REQUEST, type Charge } from "../authority/decision";
import { requestCost, requestPath, requiredScopes } from "../authority/routes";
import { isExpired } from "../authority/status";
import { verdictCode, type CredentialKind } from "../authority/verdicts";
import { limitInfos, retryAfterSeconds, tightestWindow } from "../http/ratelimit-headers";
import { isWellFormedKey } from "../keys/format";
import { hashKey } from "../keys/hash";
import { isWellFormedToken } from "../keys/token-format";
import type { Services } from "../services";
import { verificationFacts, type RequestFacts } from "../usage/context";
import { recordRefusalAfterAnswer, verifyKey, verifyRecord, type Verification } from "./verify";
import type { VerifyRequestInput } from "./verify-request";
import type { VerifyResult } from "./verify-result";

/**
 * Every credential the gateway accepts: an API key, or an OAuth access token. A key is verified by
 * verifyKey. An access token is found by its hash the way a key is; its own expiry (which never
 * changes) is read from that record, and everything else (the grant's status, its tenant, its
 * scopes, its exact window) is decided by the grant's object, through the very path a key takes.
 */

/** Who an access token acts for: the app it was issued to, and the user who approved it (null for client_credentials). */
export interface Delegation {
  clientId: string;
  subject: string | null;
}

export interface CredentialVerification extends Verification {
  kind: CredentialKind;
  delegation: Delegation | null;
}

/** Whether a string could be a key or an access token, by its shape alone (no I/O). */
export function isWellFormedCredential(candidate: string, keyPrefix: string): boolean {
  return isWellFormedKey(candidate, keyPrefix) || isWellFormedToken(candidate, keyPrefix, "access");
}

export async function verifyCredential(
  services: Services,
  credential: string,
  neededScopes: readonly string[],
  facts: RequestFacts,
  charge: Charge = ONE_REQUEST,
): Promise<CredentialVerification> {
  // The token's test first: a key fails it at its marker, before any checksum is computed.
  if (isWellFormedToken(credential, services.config.keyPrefix, "access")) return verifyAccessToken(services, credential, neededScopes, facts, charge);
  return { ...(await verifyKey(services, credential, neededScopes, facts, charge)), kind: "key", delegation: null };
}

async function verifyAccessToken(services: Services, token: string, neededScopes: readonly string[], facts: RequestFacts, charge: Charge): Promise<CredentialVerification> {
  const kind = "access_token";
  const record = await services.tokens.findByHash(await hashKey(token));
  if (!record) return { key: null, decision: invalidKeyDecision(), kind, delegation: null };
  const delegation = { clientId: record.clientId, subject: record.subject };
  const now = services.clock.now();
  if (isExpired(record.expiresAt, now)) {
    // The token's expiry is its own and never changes: no need to ask the grant's object. The
    // refusal is still recorded there, after the answer, as a key's refusals are.
    const decision = decideWithoutLimits({ ...record.grant, expiresAt: record.expiresAt }, now, neededScopes);
    const use = { ...facts, keyId: record.grant.id, tenantId: record.grant.tenantId };
    recordRefusalAfterAnswer(services, record.grant.id, decision.verdict, use, "an expired token's use");
    return { key: record.grant, decision, kind, delegation };
  }
  return { ...(await verifyRecord(services, record.grant, neededScopes, facts, charge)), kind, delegation };
}

/**
 * A verification as HTTP verify and the binding ask for one: the scopes its method and path need
 * (the path read as the proxy reads a request's URL, once) plus any it names, what it costs (its
 * `cost`, else ROUTE_COSTS for its route, else 1; 0 only checks), and its record's facts.
 */
export async function verifyAsked(services: Services, input: VerifyRequestInput, caller: { request?: Request; requestId?: string } = {}): Promise<VerifyResult> {
  const rules = services.config;
  const path = input.path === undefined ? null : requestPath(input.path);
  const method = input.method ?? "GET";
  const fromRoute = path === null ? [] : requiredScopes(rules, [method], path);
  const scopes = [...new Set([...fromRoute, ...(input.scopes ?? [])])];
  const charge: Charge = { units: input.cost ?? (path === null ? 1 : requestCost(rules, [method], path)), counted: input.cost !== 0 };
  const facts = verificationFacts({ method: input.method?.toUpperCase() ?? (path === null ? null : "GET"), path }, { ...services.config, ...caller });
  return credentialResult(await verifyCredential(services, input.key, scopes, facts, charge));
}

/** What verify answers (HTTP and RPC) about any credential. */
export function credentialResult({ key, decision, kind, delegation }: CredentialVerification): VerifyResult {
  const known = decision.verdict !== "invalid" && key !== null;
  const limits = "limits" in decision ? decision.limits : [];
  return {
    valid: decision.verdict === "valid",
    code: verdictCode(decision.verdict, kind),
    key_id: known ? key.id : null,
    tenant_id: known ? key.tenantId : null,
    environment: known ? key.environment : null,
    scopes: "scopes" in decision ? decision.scopes : known ? key.scopes : [],
    client_id: known ? (delegation?.clientId ?? null) : null,
    subject: known ? (delegation?.subject ?? null) : null,
    missing_scopes: decision.verdict === "insufficient_scope" ? decision.missingScopes : [],
    ratelimit: tightestWindow(limits),
    limits: limitInfos(limits),
    retry_after: "retryAfterMs" in decision && decision.retryAfterMs !== null ? retryAfterSeconds(decision.retryAfterMs) : null,
  };
}
