const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/**
 * CSPRNG bytes are taken from a 4 KiB buffer filled by one getRandomValues call and refilled when
 * spent, each byte used once: every proxied request draws a request id, and a getRandomValues call
 * per id (a runtime call and a fresh array) was ~1.3% of the valid path's isolate time.
 */
const POOL_BYTES = 4096;
let pool = new Uint8Array(0);
let used = 0;

function randomByte(): number {
  if (used === pool.length) {
    // Filled lazily: Workers allow no random values at module scope.
    pool = crypto.getRandomValues(new Uint8Array(POOL_BYTES));
    used = 0;
  }
  return pool[used++]!;
}

/** `length` base62 characters from the CSPRNG, without modulo bias (bytes >= 248 are redrawn). */
export function randomBase62(length: number): string {
  let out = "";
  while (out.length < length) {
    const byte = randomByte();
    if (byte < 248) out += BASE62[byte % 62];
  }
  return out;
}

/** Fixed-width base62 of an unsigned 32-bit number (62^6 > 2^32, so six characters always fit). */
export function base62Fixed(value: number, width: number): string {
  let out = "";
  let rest = value >>> 0;
  for (let i = 0; i < width; i++) {
    out = BASE62[rest % 62] + out;
    rest = Math.floor(rest / 62);
  }
  return out;
}

/**
 * Stripe-style prefixed ids: `ten_…`, `key_…`, `req_…`; for OAuth `cli_…` (a client), `grt_…` (a
 * grant) and `azr_…` (an authorization request). ~119 bits, enough to never collide.
 */
export function prefixedId(prefix: "ten" | "key" | "req" | "adm" | "evt" | "jti" | "ses" | "cli" | "grt" | "azr"): string {
  return `${prefix}_${randomBase62(20)}`;
}
