import { decideWithoutLimits, invalidKeyDecision, ONE_REQUEST, type Charge } from "../authority/decision";
import { isExpired } from "../authority/status";
import { verdictCode, type CredentialKind } from "../authority/verdicts";
import { isWellFormedKey } from "../keys/format";
import { hashKey } from "../keys/hash";
import { isWellFormedToken } from "../keys/token-format";
import type { Services } from "../services";
import type { RequestFacts } from "../usage/context";
import { verifyKey, verifyRecord, verifyResult, type Verification } from "./verify";
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
    services.waitUntil(
      services.guards
        .key(record.grant.id)
        .recordRefusal(decision.verdict, use)
        .catch((error: unknown) => console.error("keygate: could not record an expired token's use", error)),
    );
    return { key: record.grant, decision, kind, delegation };
  }
  return { ...(await verifyRecord(services, record.grant, neededScopes, facts, charge)), kind, delegation };
}

/** What verify answers (HTTP and RPC) about any credential. */
export function credentialResult(verification: CredentialVerification): VerifyResult {
  const result = verifyResult(verification);
  const known = result.key_id !== null;
  return {
    ...result,
    code: verdictCode(verification.decision.verdict, verification.kind),
    client_id: known ? (verification.delegation?.clientId ?? null) : null,
    subject: known ? (verification.delegation?.subject ?? null) : null,
  };
}
