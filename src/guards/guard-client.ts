import type { KeyPolicy } from "../authority/key";
import type { PolicyChange } from "./key-guard";

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
