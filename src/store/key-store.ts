import { authUnavailable } from "../http/errors";
import { IsolateCache } from "./isolate-cache";
import { KEY_ROW_COLUMNS, recordFromRow, type KeyRow } from "./key-rows";
import type { KeyRecord } from "./records";

/**
 * Finding a key by its hash, cheapest tier first: this isolate's memory, then KV at the edge, then
 * D1. Every tier also remembers hashes that match no key, so a flood of random well-formed keys
 * stops at the edge. Unknown hashes live in their own cache so such a flood cannot evict real keys.
 * None of these tiers decides whether a key is still valid: the key's Durable Object does.
 */
const ISOLATE_TTL_MS = 60_000;
const known = new IsolateCache<KeyRecord>(10_000, ISOLATE_TTL_MS);
const unknown = new IsolateCache<true>(10_000, ISOLATE_TTL_MS);

/** Unknown hashes: KV's shortest expiry (60 s), so a key can never stay "unknown" for long. */
const KV_UNKNOWN_TTL_SECONDS = 60;
/** Known keys: identity never changes and the key's object decides validity, so a day is safe. */
const KV_KNOWN_TTL_SECONDS = 86_400;
/** The shortest edge cache KV allows. */
const KV_CACHE_TTL_SECONDS = 60;

type KvEntry = KeyRecord | { unknown: true };

const kvName = (hash: string) => `key:${hash}`;

export async function findKeyByHash(env: Env, ctx: ExecutionContext, hash: string): Promise<KeyRecord | null> {
  const inMemory = known.get(hash);
  if (inMemory) return inMemory;
  if (unknown.get(hash)) return null;

  const cached = await unavailableOnError(() =>
    env.KEYS_CACHE.get<KvEntry>(kvName(hash), { type: "json", cacheTtl: KV_CACHE_TTL_SECONDS }),
  );
  if (cached) return remember(hash, "unknown" in cached ? null : cached);

  const row = await unavailableOnError(() =>
    env.DB.prepare(`SELECT ${KEY_ROW_COLUMNS} FROM api_keys k JOIN tenants t ON t.id = k.tenant_id WHERE k.key_hash = ?`)
      .bind(hash)
      .first<KeyRow>(),
  );
  const record = row ? recordFromRow(row) : null;
  ctx.waitUntil(writeKv(env, hash, record).catch((error) => console.warn("keygate: KV fill failed", error)));
  return remember(hash, record);
}

/** After create or rotate: the first request with the new key finds it at the edge. */
export async function cacheKey(env: Env, hash: string, record: KeyRecord): Promise<void> {
  unknown.delete(hash);
  known.set(hash, record);
  await writeKv(env, hash, record);
}

/** After revoke, delete or any change: drop this isolate's copy and the edge's. */
export async function forgetKey(env: Env, hash: string): Promise<void> {
  known.delete(hash);
  unknown.delete(hash);
  await env.KEYS_CACHE.delete(kvName(hash));
}

function remember(hash: string, record: KeyRecord | null): KeyRecord | null {
  if (record) known.set(hash, record);
  else unknown.set(hash, true);
  return record;
}

function writeKv(env: Env, hash: string, record: KeyRecord | null): Promise<void> {
  const entry: KvEntry = record ?? { unknown: true };
  return env.KEYS_CACHE.put(kvName(hash), JSON.stringify(entry), {
    expirationTtl: record ? KV_KNOWN_TTL_SECONDS : KV_UNKNOWN_TTL_SECONDS,
  });
}

async function unavailableOnError<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    console.error("keygate: key lookup failed", error);
    throw authUnavailable();
  }
}
