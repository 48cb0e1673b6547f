const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** `length` base62 characters from the CSPRNG, without modulo bias (bytes >= 248 are redrawn). */
export function randomBase62(length: number): string {
  let out = "";
  while (out.length < length) {
    const bytes = crypto.getRandomValues(new Uint8Array(length * 2));
    for (const byte of bytes) {
      if (byte < 248) out += BASE62[byte % 62];
      if (out.length === length) break;
    }
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

/** Stripe-style prefixed ids: `ten_…`, `key_…`, `req_…`. ~119 bits, enough to never collide. */
export function prefixedId(prefix: "ten" | "key" | "req" | "adm" | "evt" | "jti" | "ses"): string {
  return `${prefix}_${randomBase62(20)}`;
}
