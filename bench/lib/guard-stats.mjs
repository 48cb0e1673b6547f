// What a key's Durable Object (KeyGuard) has written to SQLite, read through its own RPC method
// `storageStats()`. The bench's `guard-stats` worker (bench/lib/runtime.mjs) makes the calls: it is
// bound to the keygate worker's KEY_GUARD namespace and addresses each object by key id, as keygate
// does. (Miniflare's proxy from Node can make the same RPC, but at about 10 ms a call, a reading of
// 1,000 keys took 10-20 s; the worker answers a batch in one round trip.)
//
// rowsWritten counts from the object's start, so a figure for a pass is the difference between a
// reading before and one after. The object writes what it decided after replying (at most once a
// second per key) and releases an unused reservation when it ends (at most 8 s later), so a reading
// waits FLUSH_WAIT_MS after the last request: every row the pass caused is counted.

/** Longer than the object's batching interval and a reservation's longest life (MAX_HORIZON_MS). */
export const FLUSH_WAIT_MS = 9_500;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits for the keys' objects to flush what the last requests left them to write (quick mode waits less: a smoke check). */
export const waitForFlush = (ms) => sleep(ms);

/** Ids per request to the guard-stats worker, whose calls to the objects run in parallel. */
const BATCH = 200;

/**
 * `{ rowsWritten, storedRows }` of each key's object, by key id; null if this keygate's KeyGuard
 * has no storageStats().
 */
export async function readStorageStats(urls, keyIds) {
  const stats = new Map();
  for (let i = 0; i < keyIds.length; i += BATCH) {
    const ids = keyIds.slice(i, i + BATCH);
    const res = await fetch(urls["guard-stats"], { method: "POST", body: JSON.stringify(ids) });
    const body = await res.json();
    if (!res.ok) {
      if (/does not implement the method "storageStats"/.test(body.error)) return null;
      throw new Error(`reading storageStats(): ${res.status} ${body.error}`);
    }
    ids.forEach((id, n) => stats.set(id, body[n]));
  }
  return stats;
}

/**
 * Rows the keys' objects wrote between two readings, and alarms they set (counted apart: whether
 * Cloudflare bills setting an alarm as a row written is not documented). An object that restarted
 * in between (its count went down) counts from its restart only, so the figure is then a lower
 * bound: `restarted` says how many did.
 */
function rowsWrittenBetween(before, after) {
  if (!before || !after) return null;
  let rows = 0;
  let alarms = 0;
  let restarted = 0;
  for (const [id, { rowsWritten, alarmsSet = 0 }] of after) {
    const was = before.get(id) ?? { rowsWritten: 0, alarmsSet: 0 };
    if (rowsWritten < was.rowsWritten) {
      restarted++;
      rows += rowsWritten;
      alarms += alarmsSet;
    } else {
      rows += rowsWritten - was.rowsWritten;
      alarms += alarmsSet - (was.alarmsSet ?? 0);
    }
  }
  return { rows, alarms, restarted };
}

/**
 * Rows the keys' objects wrote during `pass()`: a reading before it and one after, each once the
 * objects have flushed what earlier requests left them to write.
 */
export async function rowsWrittenDuring(urls, keyIds, pass, flushWaitMs) {
  await waitForFlush(flushWaitMs);
  const before = await readStorageStats(urls, keyIds);
  await pass();
  await waitForFlush(flushWaitMs);
  const after = await readStorageStats(urls, keyIds);
  return rowsWrittenBetween(before, after);
}

/** Rows written per request, with nulls where the objects cannot say (no storageStats). */
export function rowsPerRequest(written, requests) {
  if (!written) return { rows: null, alarms: null, requests, perRequest: null, restartedObjects: null };
  return { rows: written.rows, alarms: written.alarms, requests, perRequest: requests ? written.rows / requests : null, restartedObjects: written.restarted };
}

/** `{ acquire, release }` calls the quota object `name` answered since it started (QuotaGuard.stats()). */
export async function readQuotaStats(urls, name) {
  const res = await fetch(`${urls["guard-stats"]}/quota?name=${encodeURIComponent(name)}`);
  const body = await res.json();
  if (!res.ok) throw new Error(`reading QuotaGuard.stats(): ${res.status} ${body.error}`);
  return body;
}

/** Calls between two readings of a quota object's stats(); after a restart (counts went down), those since it. */
export function quotaCallsBetween(before, after) {
  const restarted = after.acquire < before.acquire || after.release < before.release;
  const base = restarted ? { acquire: 0, release: 0 } : before;
  return { acquire: after.acquire - base.acquire, release: after.release - base.release, restarted };
}
