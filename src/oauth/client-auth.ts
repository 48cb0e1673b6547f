import type { OAuthClient } from "../authority/oauth";
import { OAuthError } from "../http/errors";
import { hashKey, secretsEqual } from "../keys/hash";
import { isWellFormedToken } from "../keys/token-format";
import type { Services } from "../services";
import { getLiveClient } from "../store/oauth-client-repo";
import type { OAuthParams } from "./params";

const INVALID_CLIENT_CHALLENGE = { "www-authenticate": 'Basic realm="keygate"' };

/** RFC 6749 §5.2: 401 with a Basic challenge. Counted as a failed attempt of the caller. */
function invalidClient(description: string): OAuthError {
  return new OAuthError("invalid_client", description, INVALID_CLIENT_CHALLENGE);
}

/**
 * Who is calling the token or revocation endpoint (RFC 6749 §2.3): a confidential client by its
 * secret, in `Authorization: Basic` (client_secret_basic, both parts form-encoded) or in the body
 * (client_secret_post); a public client by its `client_id` alone (none). Exactly one method; a
 * deleted client is no client.
 */
export async function authenticateClient(services: Services, headers: Headers, params: OAuthParams): Promise<OAuthClient> {
  const basic = basicCredentials(headers.get("authorization"));
  const bodyId = params.get("client_id");
  const bodySecret = params.get("client_secret");
  if (basic && bodySecret !== null) throw new OAuthError("invalid_request", "Use one client authentication method: Authorization: Basic or client_secret in the body, not both.");
  if (basic && bodyId !== null && bodyId !== basic.id) throw new OAuthError("invalid_request", "client_id in the body differs from the one in Authorization.");
  const clientId = basic?.id ?? bodyId;
  if (!clientId) throw invalidClient("The client is not identified: send client_id (and its secret, for a confidential client).");
  const secret = basic?.secret ?? bodySecret;
  const client = await getLiveClient(services.db, clientId);
  if (!client) throw invalidClient("Unknown client.");
  if (client.type === "public") {
    if (secret !== null && secret !== "") throw invalidClient("A public client has no secret.");
    return client;
  }
  const matches =
    secret !== null && client.secretHash !== null && isWellFormedToken(secret, services.config.keyPrefix, "clientSecret") && (await secretsEqual(await hashKey(secret), client.secretHash));
  if (!matches) throw invalidClient("The client secret is not valid.");
  return client;
}

/** `Authorization: Basic base64(urlencode(id):urlencode(secret))`, or null for any other header. */
function basicCredentials(header: string | null): { id: string; secret: string } | null {
  const match = header?.match(/^\s*Basic\s+(\S+)\s*$/i);
  if (!match) return null;
  let decoded: string;
  try {
    decoded = atob(match[1]!);
  } catch {
    throw invalidClient("Authorization: Basic is not valid base64.");
  }
  const colon = decoded.indexOf(":");
  if (colon === -1) throw invalidClient('Authorization: Basic must be base64("client_id:client_secret").');
  try {
    return { id: decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, " ")), secret: decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, " ")) };
  } catch {
    throw invalidClient("Authorization: Basic holds a malformed escape.");
  }
}
