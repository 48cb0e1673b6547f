/**
 * base64url without padding (RFC 4648 §5), the one spelling of bytes in keygate's URLs, tokens and
 * stored values: sealed secrets, passkeys' keys, list cursors, and the PKCE challenge below.
 */
export function toBase64Url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** The bytes `text` spells, with or without padding; throws when it is not base64url. */
export function fromBase64Url(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/** RFC 7636 S256: the challenge is base64url(SHA-256(verifier)), without padding. */
export async function s256Challenge(verifier: string): Promise<string> {
  return toBase64Url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))));
}
