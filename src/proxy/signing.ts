import { toHex } from "../keys/hash";

/**
 * What the origin can verify: HMAC-SHA256 over the timestamp, method, path with query and the
 * identity headers, joined by newlines; for an OAuth access token also the user's subject and the
 * app's client id, so that neither can be dropped or swapped without breaking the signature.
 * docs/gateway-and-origin.md shows the check on the origin's side.
 */
export interface SignedFields {
  timestamp: string;
  method: string;
  pathAndQuery: string;
  keyId: string;
  tenantId: string;
  environment: string;
  scopes: string;
  requestId: string;
  /** An access token's: the subject ("" for client_credentials) and the client id. */
  delegation?: { subject: string; clientId: string };
}

const encoder = new TextEncoder();
const keys = new Map<string, Promise<CryptoKey>>();

export function canonicalString(f: SignedFields): string {
  const lines = ["v1", f.timestamp, f.method, f.pathAndQuery, f.keyId, f.tenantId, f.environment, f.scopes, f.requestId];
  if (f.delegation) lines.push(f.delegation.subject, f.delegation.clientId);
  return lines.join("\n");
}

export async function sign(secret: string, fields: SignedFields): Promise<string> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    keys.set(secret, key);
  }
  const mac = await crypto.subtle.sign("HMAC", await key, encoder.encode(canonicalString(fields)));
  return `v1=${toHex(mac)}`;
}
