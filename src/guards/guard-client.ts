import type { KeyPolicy } from "../authority/key";
import type { PolicyChange } from "./key-guard";

/** How many objects are written at once when one change reaches many (a tenant's keys and grants, a client's grants). */
export const FAN_OUT = 32;
/**
 * Objects written per admin call at most. Each write is a subrequest, and Workers caps those per
 * request: 1,000 to Cloudflare services on the Free plan, 10,000 by default on Paid plans. 500
 * writes plus a few D1 queries per 100 stays well inside the lowest.
 */
export const FANOUT_BUDGET = 500;

/** Runs `write` for every item, FAN_OUT at a time. */
export async function inChunks<T>(items: readonly T[], write: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += FAN_OUT) await Promise.all(items.slice(i, i + FAN_OUT).map(write));
}

/**
 * The Durable Objects that guard keys and count attempts, as the rest of keygate reaches them.
 * Built once per request (services.ts).
 */
export class Guards {
  constructor(private readonly env: Env) {}

  /** A key's object; addressed by key id, so a rotated key starts a fresh window. */
  key(keyId: string) {
    return this.env.KEY_GUARD.getByName(keyId);
  }

  /** A tenant's quota for one environment, addressed by authority/key.ts quotaObject(). */
  quota(name: string) {
    return this.env.QUOTA_GUARD.getByName(name);
  }

  /** An attempt counter: one object per client (`ip:…`) or sign-in subject. */
  attempts(name: string) {
    return this.env.ATTEMPT_GUARD.getByName(name);
  }

  /** Admin write-through: returns once the key's object has stored the change. */
  async writePolicy(keyId: string, change: PolicyChange, snapshot: KeyPolicy, tenantVersion?: number): Promise<void> {
    await this.key(keyId).update(change, snapshot, tenantVersion);
  }
}
