import type { Clock } from "../clock";
import { StorageError } from "./errors";
import { IsolateCache } from "./isolate-cache";

/**
 * Finding a credential by its hash, cheapest tier first: this isolate's memory, then KV at the
 * edge, then D1. Every tier also remembers hashes that match nothing, so a flood of random
 * well-formed credentials stops at the edge. Unknown hashes live in their own cache so such a
 * flood cannot evict real ones. None of these tiers decides whether a credential may still be
 * used: the Durable Object of its key (or grant) does.
 */
const ISOLATE_TTL_MS = 60_000;
/** Unknown hashes: KV's shortest expiry (60 s), so a credential can never stay "unknown" for long. */
const KV_UNKNOWN_TTL_SECONDS = 60;
/** Known ones: their identity never changes and their object decides validity, so a day is safe. */
const KV_KNOWN_TTL_SECONDS = 86_400;
/** The shortest edge cache KV allows. */
const KV_CACHE_TTL_SECONDS = 60;

/** The lookups of one kind of credential this isolate remembers between requests (see isolate.ts). */
export class LookupCaches<R> {
  readonly known = new IsolateCache<R>(10_000, ISOLATE_TTL_MS);
  readonly unknown = new IsolateCache<true>(10_000, ISOLATE_TTL_MS);

  clear(): void {
    this.known.clear();
    this.unknown.clear();
  }
}

/** What differs between kinds of credential: their KV names, D1 query, and the record they cache. */
export interface LookupKind<R> {
  /** For error messages: "key", "access token". */
  what: string;
  /** KV entries are named `<kvPrefix><hash>`. */
  kvPrefix: string;
  load(db: D1Database, hash: string): Promise<R | null>;
  /** What is cached of a record: a copy holding only what a lookup needs. */
  cached(record: R): R;
}

type KvEntry<R> = R | { unknown: true };

export class HashLookup<R extends object> {
  constructor(
    private readonly env: Env,
    private readonly caches: LookupCaches<R>,
    private readonly clock: Clock,
    private readonly waitUntil: (work: Promise<unknown>) => void,
    private readonly kind: LookupKind<R>,
  ) {}

  async findByHash(hash: string): Promise<R | null> {
    const now = this.clock.now();
    const inMemory = this.caches.known.get(hash, now);
    if (inMemory) return inMemory;
    if (this.caches.unknown.get(hash, now)) return null;

    const cached = await storageRead(`KV ${this.kind.what} lookup`, () =>
      this.env.KEYS_CACHE.get<KvEntry<R>>(this.kvName(hash), { type: "json", cacheTtl: KV_CACHE_TTL_SECONDS }),
    );
    if (cached) return this.remember(hash, "unknown" in cached ? null : cached);

    const loaded = await storageRead(`D1 ${this.kind.what} lookup`, () => this.kind.load(this.env.DB, hash));
    const record = loaded ? this.kind.cached(loaded) : null;
    this.waitUntil(this.writeKv(hash, record).catch((error) => console.warn("keygate: KV fill failed", error)));
    return this.remember(hash, record);
  }

  /** After issuing: the first request with the new credential finds it at the edge. */
  async cache(hash: string, record: R): Promise<void> {
    this.caches.unknown.delete(hash);
    this.caches.known.set(hash, this.kind.cached(record), this.clock.now());
    await this.writeKv(hash, this.kind.cached(record));
  }

  /** After revoke, delete or any change: drop this isolate's copy and the edge's. */
  async forget(hash: string): Promise<void> {
    this.caches.known.delete(hash);
    this.caches.unknown.delete(hash);
    await this.env.KEYS_CACHE.delete(this.kvName(hash));
  }

  private kvName(hash: string): string {
    return `${this.kind.kvPrefix}${hash}`;
  }

  private remember(hash: string, record: R | null): R | null {
    if (record) this.caches.known.set(hash, record, this.clock.now());
    else this.caches.unknown.set(hash, true, this.clock.now());
    return record;
  }

  private writeKv(hash: string, record: R | null): Promise<void> {
    const entry: KvEntry<R> = record ?? { unknown: true };
    return this.env.KEYS_CACHE.put(this.kvName(hash), JSON.stringify(entry), {
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
