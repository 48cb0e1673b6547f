import { recordOf, type KeyRecord } from "../authority/key";
import type { Clock } from "../clock";
import { StorageError } from "./errors";
import { IsolateCache } from "./isolate-cache";
import { getKeyByHash } from "./key-repo";

/**
 * Finding a key by its hash, cheapest tier first: this isolate's memory, then KV at the edge, then
 * D1. Every tier also remembers hashes that match no key, so a flood of random well-formed keys
 * stops at the edge. Unknown hashes live in their own cache so such a flood cannot evict real keys.
 * None of these tiers decides whether a key is still valid: the key's Durable Object does.
 */
const ISOLATE_TTL_MS = 60_000;
/** Unknown hashes: KV's shortest expiry (60 s), so a key can never stay "unknown" for long. */
const KV_UNKNOWN_TTL_SECONDS = 60;
/** Known keys: identity never changes and the key's object decides validity, so a day is safe. */
const KV_KNOWN_TTL_SECONDS = 86_400;
/** The shortest edge cache KV allows. */
const KV_CACHE_TTL_SECONDS = 60;

/** The key lookups this isolate remembers between requests; one per isolate (see isolate.ts). */
export class KeyCaches {
  readonly known = new IsolateCache<KeyRecord>(10_000, ISOLATE_TTL_MS);
  readonly unknown = new IsolateCache<true>(10_000, ISOLATE_TTL_MS);

  clear(): void {
    this.known.clear();
    this.unknown.clear();
  }
}

type KvEntry = KeyRecord | { unknown: true };

const kvName = (hash: string) => `key:${hash}`;

export class KeyStore {
  constructor(
    private readonly env: Env,
    private readonly caches: KeyCaches,
    private readonly clock: Clock,
    private readonly waitUntil: (work: Promise<unknown>) => void,
  ) {}

  async findByHash(hash: string): Promise<KeyRecord | null> {
    const now = this.clock.now();
    const inMemory = this.caches.known.get(hash, now);
    if (inMemory) return inMemory;
    if (this.caches.unknown.get(hash, now)) return null;

    const cached = await storageRead("KV key lookup", () =>
      this.env.KEYS_CACHE.get<KvEntry>(kvName(hash), { type: "json", cacheTtl: KV_CACHE_TTL_SECONDS }),
    );
    if (cached) return this.remember(hash, "unknown" in cached ? null : cached);

    const key = await storageRead("D1 key lookup", () => getKeyByHash(this.env.DB, hash));
    const record = key ? recordOf(key) : null;
    this.waitUntil(this.writeKv(hash, record).catch((error) => console.warn("keygate: KV fill failed", error)));
    return this.remember(hash, record);
  }

  /** After create or rotate: the first request with the new key finds it at the edge. */
  async cache(hash: string, record: KeyRecord): Promise<void> {
    this.caches.unknown.delete(hash);
    this.caches.known.set(hash, recordOf(record), this.clock.now());
    await this.writeKv(hash, recordOf(record));
  }

  /** After revoke, delete or any change: drop this isolate's copy and the edge's. */
  async forget(hash: string): Promise<void> {
    this.caches.known.delete(hash);
    this.caches.unknown.delete(hash);
    await this.env.KEYS_CACHE.delete(kvName(hash));
  }

  private remember(hash: string, record: KeyRecord | null): KeyRecord | null {
    if (record) this.caches.known.set(hash, record, this.clock.now());
    else this.caches.unknown.set(hash, true, this.clock.now());
    return record;
  }

  private writeKv(hash: string, record: KeyRecord | null): Promise<void> {
    const entry: KvEntry = record ?? { unknown: true };
    return this.env.KEYS_CACHE.put(kvName(hash), JSON.stringify(entry), {
      expirationTtl: record ? KV_KNOWN_TTL_SECONDS : KV_UNKNOWN_TTL_SECONDS,
    });
  }
}

async function storageRead<T>(what: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    throw new StorageError(what, error);
  }
}
