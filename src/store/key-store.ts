import { recordOf, type KeyRecord } from "../authority/key";
import type { Clock } from "../clock";
import { HashLookup, LookupCaches } from "./hash-lookup";
import { getKeyByHash } from "./key-repo";

/** The key lookups this isolate remembers between requests; one per isolate (see isolate.ts). */
export class KeyCaches extends LookupCaches<KeyRecord> {}

/** A key by its hash (see hash-lookup.ts): KV entries `key:<hash>`, the record the gateway needs. */
export class KeyStore extends HashLookup<KeyRecord> {
  constructor(env: Env, caches: KeyCaches, clock: Clock, waitUntil: (work: Promise<unknown>) => void) {
    super(env, caches, clock, waitUntil, {
      what: "key",
      kvPrefix: "key:",
      load: async (db, hash) => {
        const key = await getKeyByHash(db, hash);
        return key ? recordOf(key) : null;
      },
      cached: recordOf,
    });
  }
}
