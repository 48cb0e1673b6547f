import { DurableObject } from "cloudflare:workers";
import { systemClock } from "../clock";
import { crc32 } from "../keys/crc32";
import { forwardStatements, pruneStatement, type HourTotals } from "../store/usage-repo";
import { bucketStart, KEY_RETENTION_MS, usagePoint, type CodeCounts } from "./buckets";

/** An hour's counts, forwarded as JSON, in D1's columns (the one reading of counts: usagePoint). */
function hourTotals({ hour, counts }: { hour: number; counts: string }): HourTotals {
  const { admitted, units, rate_limited, refused } = usagePoint(JSON.parse(counts) as CodeCounts);
  return { hour, admitted, units, rateLimited: rate_limited, refused };
}

/** One key's counts for the tenant's totals: absolute values, so forwarding twice changes nothing. */
export interface KeyTotals {
  owner: { keyId: string; tenantId: string };
  hours: { hour: number; counts: string }[];
  lastUsedAt: number | null;
}

/**
 * Key objects forward through this many forwarders, each key always through the same one. Every
 * forward is one call to a forwarder (a key forwards at most once a minute), and an object serves
 * about 1,000 calls a second, so 4 forwarders carry about 240,000 keys in use per minute.
 */
export const FORWARDERS = 4;
/** How long a forward waits for others to share its D1 batch. */
export const BATCH_WAIT_MS = 1_000;
/** This many keys waiting are written at once, without waiting out BATCH_WAIT_MS. */
export const WRITE_AT_KEYS = 50;
/**
 * The most statements one D1 batch carries (a key's hours, its last use, a tenant's prune): D1
 * counts queries per invocation, and a key that could not forward for a long time brings many hours.
 */
export const MAX_STATEMENTS_PER_BATCH = 100;

/** The forwarder a key's counts go through. */
export function forwarderName(keyId: string): string {
  return `forwarder-${crc32(keyId) % FORWARDERS}`;
}

interface Waiting {
  totals: KeyTotals;
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * Group commit for tenant totals: key objects hand their hourly counts here and their call returns
 * once D1 holds them, written together with the counts of every key that forwarded within
 * BATCH_WAIT_MS. A D1 call costs about the same for one key as for fifty, so a thousand quiet
 * keys cost D1 a batch a second instead of a thousand. Nothing is stored here: a key's object marks its
 * counts forwarded only when its call returns, so a forwarder lost mid-batch loses nothing (the
 * call fails, the key retries).
 */
export class UsageForwarder extends DurableObject<Env> {
  private waiting: Waiting[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** The hour this instance last dropped each tenant's expired totals in: once an hour per tenant. */
  private readonly prunedHour = new Map<string, number>();
  /** D1 batches written and keys they carried, since this instance started: see stats(). */
  private batches = 0;
  private keys = 0;

  async forward(totals: KeyTotals): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.waiting.push({ totals, resolve, reject });
      if (this.waiting.length >= WRITE_AT_KEYS) this.writeWaiting();
      else this.timer ??= setTimeout(() => this.writeWaiting(), BATCH_WAIT_MS);
    });
  }

  /** What this instance has written to D1, so a test can see how many keys shared each batch. */
  stats(): { batches: number; keys: number } {
    return { batches: this.batches, keys: this.keys };
  }

  /** Writes every key waiting, in as few D1 batches as MAX_STATEMENTS_PER_BATCH allows. */
  private writeWaiting(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const db = this.env.DB;
    const now = systemClock.now();
    const thisHour = bucketStart(now, "hour");
    let batch: Waiting[] = [];
    let statements: D1PreparedStatement[] = [];
    let pruned = new Set<string>();
    for (const waiting of this.waiting.splice(0)) {
      const { owner, hours, lastUsedAt } = waiting.totals;
      let mine: D1PreparedStatement[];
      try {
        mine = forwardStatements(db, owner, hours.map(hourTotals), lastUsedAt);
      } catch (error) {
        // Counts this release cannot read fail their own forward, never the batch they came in.
        waiting.reject(error);
        continue;
      }
      if (batch.length > 0 && statements.length + mine.length + 1 > MAX_STATEMENTS_PER_BATCH) {
        this.writeBatch(batch, statements, pruned, thisHour);
        [batch, statements, pruned] = [[], [], new Set()];
      }
      batch.push(waiting);
      statements.push(...mine);
      // Expired hours go once an hour per tenant: pruning is the forwarder's job, not a per-key cost.
      if ((this.prunedHour.get(owner.tenantId) ?? 0) < thisHour && !pruned.has(owner.tenantId)) {
        pruned.add(owner.tenantId);
        statements.push(pruneStatement(db, owner.tenantId, now - KEY_RETENTION_MS));
      }
    }
    if (batch.length > 0) this.writeBatch(batch, statements, pruned, thisHour);
  }

  /** One D1 batch; each key's call returns (or fails) with it. */
  private writeBatch(batch: Waiting[], statements: D1PreparedStatement[], pruned: Set<string>, thisHour: number): void {
    if (statements.length === 0) {
      for (const { resolve } of batch) resolve();
      return;
    }
    this.env.DB.batch(statements).then(
      () => {
        this.batches++;
        this.keys += batch.length;
        for (const tenantId of pruned) this.prunedHour.set(tenantId, thisHour);
        for (const { resolve } of batch) resolve();
      },
      (error: unknown) => {
        for (const { reject } of batch) reject(error);
      },
    );
  }
}
