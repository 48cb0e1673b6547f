// What a key's Durable Object (KeyGuard) has written to SQLite, read through its own RPC method
// `storageStats()` from Node via Miniflare's proxy to the keygate worker's KEY_GUARD binding:
// the same object, addressed the way keygate addresses it (by key id).
//
// rowsWritten counts from the object's start, so a figure for a pass is the difference between a
// reading before and one after. The object persists its window and usage records after replying,
// batched (at most once a second per key), so a reading waits FLUSH_WAIT_MS after the last request.

/** Longer than the object's batching interval (1 s), so every write of the pass has been made. */
export const FLUSH_WAIT_MS = 1_500;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits for the keys' objects to flush what the last requests left them to write. */
export const waitForFlush = () => sleep(FLUSH_WAIT_MS);

/**
 * `{ rowsWritten, storedRows }` of each key's object, by key id, a few calls at a time (each is a
 * round trip through Miniflare's proxy). Null if this keygate's KeyGuard has no storageStats().
 */
export async function readStorageStats(mf, keyIds, parallel = 8) {
  const namespace = await mf.getDurableObjectNamespace("KEY_GUARD", "keygate");
  const stats = new Map();
  let next = 0;
  const lane = async () => {
    while (next < keyIds.length) {
      const id = keyIds[next++];
      const { rowsWritten, storedRows } = await namespace.get(namespace.idFromName(id)).storageStats();
      stats.set(id, { rowsWritten, storedRows });
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(parallel, keyIds.length) }, lane));
  } catch (error) {
    if (isMissingMethod(error)) return null;
    throw error;
  }
  return stats;
}

/** workerd's answer when the object has no such method (a keygate from before storageStats). */
function isMissingMethod(error) {
  return /does not implement the method "storageStats"/.test(String(error?.message));
}

/**
 * Rows the keys' objects wrote between two readings. An object that restarted in between (its
 * count went down) counts from its restart only, so the figure is then a lower bound: `restarted`
 * says how many did.
 */
function rowsWrittenBetween(before, after) {
  if (!before || !after) return null;
  let rows = 0;
  let restarted = 0;
  for (const [id, { rowsWritten }] of after) {
    const was = before.get(id)?.rowsWritten ?? 0;
    if (rowsWritten < was) {
      restarted++;
      rows += rowsWritten;
    } else {
      rows += rowsWritten - was;
    }
  }
  return { rows, restarted };
}

/**
 * Rows the keys' objects wrote during `pass()`: a reading before it and one after, each once the
 * objects have flushed what earlier requests left them to write.
 */
export async function rowsWrittenDuring(mf, keyIds, pass) {
  await waitForFlush();
  const before = await readStorageStats(mf, keyIds);
  await pass();
  await waitForFlush();
  const after = await readStorageStats(mf, keyIds);
  return rowsWrittenBetween(before, after);
}

/** Rows written per request, with nulls where the objects cannot say (no storageStats). */
export function rowsPerRequest(written, requests) {
  if (!written) return { rows: null, requests, perRequest: null, restartedObjects: null };
  return { rows: written.rows, requests, perRequest: requests ? written.rows / requests : null, restartedObjects: written.restarted };
}
