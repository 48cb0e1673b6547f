import { decideWithoutLimits, invalidKeyDecision, type Charge, type Decision } from "../authority/decision";
import { policyOf, type KeyRecord } from "../authority/key";
import { isTerminal } from "../authority/status";
import type { Verdict } from "../authority/verdicts";
import { isWellFormedKey } from "../keys/format";
import { hashKey } from "../keys/hash";
import type { Services } from "../services";
import { GuardUnavailable } from "../store/errors";
import type { RequestFacts, UseContext } from "../usage/context";
import type { VerifyResult } from "./verify-result";

export type { VerifyResult };

/** One key's decision for one request, with the key it was about (null for unknown and malformed keys). */
export interface Verification {
  key: KeyRecord | null;
  decision: Decision;
}

/**
 * The call at the centre of keygate, shared by the proxy (keyAuth), the admin API's self-service
 * keys and verification over HTTP and RPC: format and checksum (no I/O), the key's record from the
 * caches or D1, then the key's Durable Object, which alone makes the decision and counts the
 * request in the key's window. Never throws for a refused key: the caller decides how to answer.
 * `facts` (who asks, from where) go to the key's object with the request, for its usage records.
 */
export async function verifyKey(
  services: Services,
  key: string,
  neededScopes: readonly string[],
  facts: RequestFacts,
  charge: Charge,
): Promise<Verification> {
  if (!isWellFormedKey(key, services.config.keyPrefix)) return { key: null, decision: invalidKeyDecision() };
  const record = await services.keys.findByHash(await hashKey(key));
  if (!record) return { key: null, decision: invalidKeyDecision() };
  return verifyRecord(services, record, neededScopes, facts, charge);
}

/**
 * The decision about a record found by its credential: a key's, or an OAuth grant's (an access
 * token's grant is decided by its own object exactly as a key is; see verify-credential.ts).
 */
export async function verifyRecord(
  services: Services,
  record: KeyRecord,
  neededScopes: readonly string[],
  facts: RequestFacts,
  charge: Charge,
): Promise<Verification> {
  const use: UseContext = { ...facts, keyId: record.id, tenantId: record.tenantId };
  // Revoked and deleted are terminal, so a cache that says so saves the trip to the key's object;
  // a revoked key's use is still recorded there, after the answer (a deleted key is no key).
  if (isTerminal(record.status)) {
    const decision = decideWithoutLimits(record, services.clock.now(), neededScopes);
    if (decision.verdict === "revoked") recordRefusalAfterAnswer(services, record.id, decision.verdict, use, "a revoked key's use");
    return { key: record, decision };
  }
  return { key: record, decision: await askKeyGuard(services, record, neededScopes, use, charge) };
}

/** A refusal decided without the object (its record said enough) is still recorded there, after the answer. */
export function recordRefusalAfterAnswer(services: Services, id: string, verdict: Verdict, use: UseContext, what: string): void {
  services.waitUntil(
    services.guards
      .key(id)
      .recordRefusal(verdict, use)
      .catch((error: unknown) => console.error(`keygate: could not record ${what}`, error)),
  );
}

/**
 * Asks the key's object, seeding it from the cached record only if it has never been written. If
 * it cannot be reached the request fails closed, unless RATE_LIMIT_FAIL_OPEN is set: then the
 * cached record decides, without a window. An object refusing work because it is overloaded is
 * the key's own traffic, so that never fails open: flooding a key must not lift its limit.
 */
async function askKeyGuard(services: Services, record: KeyRecord, neededScopes: readonly string[], use: UseContext, charge: Charge): Promise<Decision> {
  try {
    return await decideAcrossRestarts(services, record, neededScopes, use, charge);
  } catch (error) {
    console.error("keygate: key guard unavailable", error);
    if (services.config.rateLimitFailOpen && !(error as { overloaded?: boolean }).overloaded) {
      return decideWithoutLimits(record, services.clock.now(), neededScopes);
    }
    throw new GuardUnavailable(error);
  }
}

/**
 * A call cut off by a restart of the key's object (or of the quota object it was asking), as every
 * deploy does to calls in flight, is asked again of the restarted object: up to twice more, as the
 * key's object and the quota object can each restart under one request. Never an admission too
 * many: what a cut-off call may have admitted is counted by the object as it starts (its stored
 * reservation, its lease), so a later call can only find less room.
 */
const ATTEMPTS_ACROSS_RESTARTS = 3;

async function decideAcrossRestarts(services: Services, record: KeyRecord, neededScopes: readonly string[], use: UseContext, charge: Charge): Promise<Decision> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await decide(services, record, neededScopes, use, charge);
    } catch (error) {
      if (attempt === ATTEMPTS_ACROSS_RESTARTS || !cutOffByRestart(error)) throw error;
    }
  }
}

async function decide(services: Services, record: KeyRecord, neededScopes: readonly string[], use: UseContext, charge: Charge): Promise<Decision> {
  const guard = services.guards.key(record.id);
  return ((await guard.decide(neededScopes, undefined, use, charge)) ?? (await guard.decide(neededScopes, policyOf(record), use, charge)))!;
}

/** Workers marks the error of a call whose object was reset under it; an overloaded object is never asked again. */
function cutOffByRestart(error: unknown): boolean {
  const flags = error as { retryable?: boolean; overloaded?: boolean; durableObjectReset?: boolean } | null;
  return !!flags && !flags.overloaded && (flags.retryable === true || flags.durableObjectReset === true);
}

/** The answer to a malformed RPC verification: nothing was looked up or counted. */
export function invalidVerifyRequest(message: string): VerifyResult {
  return {
    valid: false,
    code: "invalid_request",
    message,
    key_id: null,
    tenant_id: null,
    environment: null,
    scopes: [],
    client_id: null,
    subject: null,
    missing_scopes: [],
    ratelimit: null,
    limits: [],
    retry_after: null,
  };
}
