import { policyOf, type Environment, type KeyPolicy } from "../authority/key";
import { GRANT_ENVIRONMENT, grantPolicy } from "../authority/oauth";
import { inChunks } from "../guards/guard-client";
import type { Services } from "../services";
import { liveKeysOfTenant } from "../store/key-repo";
import { liveGrantsOfTenant } from "../store/oauth-grant-repo";

/** Keys and grants read per D1 query of a fan-out. */
const FANOUT_PAGE = 100;

/** An object a tenant's change is written to: a key's, or an OAuth grant's (decided as a key's is). */
export interface Guarded {
  id: string;
  policy: KeyPolicy;
}

/** One fan-out of a tenant's change to its keys' and grants' objects, as its record in D1 tells it. */
export interface Fanout {
  tenantId: string;
  /** Only this environment's keys and grants (a quota is per environment); all when absent. */
  environment?: Environment;
  /** The last object already written ('' for none). */
  after: string;
  /** Writes the change to one object; returns once the object has stored it. */
  write(guarded: Guarded): Promise<void>;
  /** Records progress; false when a newer change replaced this one (it then owns the remaining work). */
  advance(after: string): Promise<boolean>;
  /** Drops the record: every object has the change. */
  finish(): Promise<void>;
}

/**
 * Writes the change to the tenant's live keys and grants in id order, `budget` objects at most,
 * recording progress after each page so that the next call (or a repeat after a failure) continues
 * there. Answers whether objects remain, and how many this call wrote.
 */
export async function fanOut(services: Services, fanout: Fanout, budget: number): Promise<{ pending: boolean; written: number }> {
  let after = fanout.after;
  let written = 0;
  while (written < budget) {
    const pageSize = Math.min(FANOUT_PAGE, budget - written);
    const page = await liveGuardedOfTenant(services, fanout.tenantId, after, pageSize, fanout.environment);
    await inChunks(page, (guarded) => fanout.write(guarded));
    written += page.length;
    if (page.length < pageSize) {
      await fanout.finish();
      return { pending: false, written };
    }
    after = page.at(-1)!.id;
    if (!(await fanout.advance(after))) return { pending: false, written };
  }
  return { pending: true, written };
}

/**
 * One page, in id order, of the tenant's live keys and OAuth grants together, after `afterId`:
 * both are decided by an object of their own, and one cursor orders them all. Grants act on the
 * live environment only.
 */
async function liveGuardedOfTenant(services: Services, tenantId: string, afterId: string, limit: number, environment?: Environment): Promise<Guarded[]> {
  const grantsToo = environment === undefined || environment === GRANT_ENVIRONMENT;
  const [keys, grants] = await Promise.all([
    liveKeysOfTenant(services.db, tenantId, afterId, limit, environment),
    grantsToo ? liveGrantsOfTenant(services.db, tenantId, afterId, limit) : [],
  ]);
  const all = [...keys.map((key) => ({ id: key.id, policy: policyOf(key) })), ...grants.map((grant) => ({ id: grant.id, policy: grantPolicy(grant) }))];
  return all.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).slice(0, limit);
}
