import { fromBase64Url, toBase64Url } from "../keys/base64url";

/**
 * Secrets keygate must read back (a TOTP authenticator's key), encrypted at rest: AES-256-GCM with
 * a key derived from JWT_SECRET by HKDF-SHA256 for this one purpose, a random 96-bit IV per value,
 * and the owner's id as additional data, so a stored value moved to another admin's row does not
 * decrypt. D1 alone (a backup, an export) reveals no authenticator. Rotating JWT_SECRET makes the
 * stored values unreadable: those admins use a recovery code and enrol again.
 */
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const VERSION = "v1";
const IV_BYTES = 12;

const keys = new Map<string, Promise<CryptoKey>>();

function boxKey(secret: string, purpose: string): Promise<CryptoKey> {
  const id = `${purpose}\u0000${secret}`;
  let key = keys.get(id);
  if (!key) {
    key = (async () => {
      const material = await crypto.subtle.importKey("raw", encoder.encode(secret), "HKDF", false, ["deriveKey"]);
      return crypto.subtle.deriveKey(
        { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: encoder.encode(`keygate ${purpose} ${VERSION}`) },
        material,
        { name: "AES-GCM", length: 256 },
        false,
        ["encrypt", "decrypt"],
      );
    })();
    keys.set(id, key);
  }
  return key;
}

/** `plaintext` sealed for `owner`: "v1.<iv>.<ciphertext>". */
export async function seal(secret: string, purpose: string, owner: string, plaintext: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const sealed = await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: encoder.encode(owner) }, await boxKey(secret, purpose), encoder.encode(plaintext));
  return `${VERSION}.${toBase64Url(iv)}.${toBase64Url(new Uint8Array(sealed))}`;
}

/** The plaintext, or null when the value was sealed with another secret, for another owner, or changed. */
export async function open(secret: string, purpose: string, owner: string, value: string): Promise<string | null> {
  const [version, iv, sealed] = value.split(".");
  if (version !== VERSION || !iv || !sealed) return null;
  try {
    const plain = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: fromBase64Url(iv), additionalData: encoder.encode(owner) },
      await boxKey(secret, purpose),
      fromBase64Url(sealed),
    );
    return decoder.decode(plain);
  } catch {
    return null;
  }
}
