import type { Environment, Key } from "../authority/key";
import type { Services } from "../services";
import { liveKeysOfTenant } from "../store/key-repo";

/** How many key objects are written at once when a tenant's change fans out. */
const FAN_OUT = 32;
/** Keys read per D1 query of a fan-out. */
const FANOUT_PAGE = 100;
/**
 * Key objects written per PATCH at most. Each write is a subrequest, and Workers caps those per
 * request: 1,000 to Cloudflare services on the Free plan; Paid plans allow 10,000 by default
 * (formerly 1,000). 500 writes plus two D1 queries per 100 keys stays well inside the lowest.
 */
export const FANOUT_BUDGET = 500;

/** One fan-out of a tenant's change to its keys' objects, as its record in D1 tells it. */
export interface Fanout {
  tenantId: string;
  /** Only this environment's keys (a quota is per environment); every key when absent. */
  environment?: Environment;
  /** The last key already written ('' for none). */
  after: string;
  /** Writes the change to one key's object; returns once the object has stored it. */
  write(key: Key): Promise<void>;
  /** Records progress; false when a newer change replaced this one (it then owns the remaining work). */
  advance(after: string): Promise<boolean>;
  /** Drops the record: every key has the change. */
  finish(): Promise<void>;
}

/**
 * Writes the change to the tenant's live keys in id order, `budget` keys at most, recording
 * progress after each page so that the next call (or a repeat after a failure) continues there.
 * Answers whether keys remain, and how many keys' objects this call wrote.
 */
export async function fanOut(services: Services, fanout: Fanout, budget: number): Promise<{ pending: boolean; written: number }> {
  let after = fanout.after;
  let written = 0;
  while (written < budget) {
    const pageSize = Math.min(FANOUT_PAGE, budget - written);
    const keys = await liveKeysOfTenant(services.db, fanout.tenantId, after, pageSize, fanout.environment);
    for (let i = 0; i < keys.length; i += FAN_OUT) await Promise.all(keys.slice(i, i + FAN_OUT).map((key) => fanout.write(key)));
    written += keys.length;
    if (keys.length < pageSize) {
      await fanout.finish();
      return { pending: false, written };
    }
    after = keys.at(-1)!.id;
    if (!(await fanout.advance(after))) return { pending: false, written };
  }
  return { pending: true, written };
}
