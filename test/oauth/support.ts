import { env, exports } from "cloudflare:workers";
import { expect } from "vitest";
import { admin, createTenant, uniqueIp } from "../support/client";

/**
 * OAuth helpers for the workerd suite: each speaks to the real worker as an app, a consent page or
 * an admin would, over HTTP; nothing is called behind the endpoints' backs.
 */

export const BASE = "https://api.example.com";
export const REDIRECT_URI = "https://app.example.com/callback";

export interface Client {
  id: string;
  client_id: string;
  client_secret?: string;
  tenant_id: string;
  scopes: string[];
  redirect_uris: string[];
  [field: string]: unknown;
}

/** Registers an app for a fresh tenant (or `tenant_id`) through the admin API. */
export async function registerClient(fields: Record<string, unknown> = {}): Promise<Client> {
  const tenantId = (fields.tenant_id as string | undefined) ?? (await createTenant("App maker")).id;
  const res = await admin("POST", "/oauth-clients", {
    tenant_id: tenantId,
    name: "Reports app",
    type: "public",
    redirect_uris: [REDIRECT_URI],
    scopes: ["read", "write"],
    ...fields,
  });
  const text = await res.text();
  expect(res.status, text).toBe(201);
  return JSON.parse(text) as Client;
}

/** A PKCE pair: a random verifier and its S256 challenge. */
export async function pkce(): Promise<{ verifier: string; challenge: string }> {
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const challenge = base64url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))));
  return { verifier, challenge };
}

export function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** GET the authorization endpoint as a browser would (no redirect followed). */
export function authorize(params: Record<string, string>): Promise<Response> {
  return exports.default.fetch(`${BASE}/_keygate/oauth/authorize?${new URLSearchParams(params)}`, { redirect: "manual" });
}

/** The signed request keygate handed the consent page, from its redirect there. */
export function consentRequest(res: Response): string {
  expect(res.status).toBe(302);
  const location = new URL(res.headers.get("location")!);
  expect(`${location.origin}${location.pathname}`).toBe("https://consent.example.com/approve");
  return location.searchParams.get("request")!;
}

/** The consent page's call: approve or deny with the root token (or `token`). */
export function complete(body: Record<string, unknown>, token?: string): Promise<Response> {
  return admin("POST", "/oauth-authorizations", body, token);
}

/** A POST to an OAuth endpoint with a form body, from a fresh client address unless told. */
export function oauthPost(path: "token" | "revoke", params: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
  return exports.default.fetch(`${BASE}/_keygate/oauth/${path}`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", "cf-connecting-ip": uniqueIp(), ...headers },
    body: new URLSearchParams(params).toString(),
  });
}

export function basic(clientId: string, secret: string): Record<string, string> {
  return { authorization: `Basic ${btoa(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`)}` };
}

/** RFC 6749 §5.2's error body, asserted, with its status. */
export async function oauthError(res: Response): Promise<{ status: number; error: string; error_description: string }> {
  const body = (await res.json()) as { error: string; error_description: string };
  expect(typeof body.error).toBe("string");
  expect(res.headers.get("cache-control")).toBe("no-store");
  return { status: res.status, ...body };
}

export interface Tokens {
  access_token: string;
  refresh_token?: string;
  token_type: string;
  expires_in: number;
  scope: string;
}

/** The whole code flow for `client` (a public one unless it has a secret): authorize, approve, exchange. */
export async function authorizeAndExchange(
  client: Client,
  user: { tenant_id: string; subject: string; scopes?: string[] },
  scope?: string,
): Promise<Tokens & { grantId: string }> {
  const { verifier, challenge } = await pkce();
  const request = consentRequest(
    await authorize({
      response_type: "code",
      client_id: client.client_id,
      redirect_uri: client.redirect_uris[0]!,
      code_challenge: challenge,
      code_challenge_method: "S256",
      state: "s1",
      ...(scope ? { scope } : {}),
    }),
  );
  const done = await complete({ decision: "approve", request, ...user });
  const text = await done.text();
  expect(done.status, text).toBe(200);
  const code = new URL(JSON.parse(text).redirect_to).searchParams.get("code")!;
  const auth = client.client_secret ? basic(client.client_id, client.client_secret) : {};
  const res = await oauthPost(
    "token",
    { grant_type: "authorization_code", code, redirect_uri: client.redirect_uris[0]!, code_verifier: verifier, ...(client.client_secret ? {} : { client_id: client.client_id }) },
    auth,
  );
  const tokens = (await res.json()) as Tokens;
  expect(res.status, JSON.stringify(tokens)).toBe(200);
  const grants = (await (await admin("GET", `/oauth-grants?client_id=${client.client_id}&subject=${encodeURIComponent(user.subject)}&limit=1`)).json()) as { data: { id: string }[] };
  return { ...tokens, grantId: grants.data[0]!.id };
}

/** Everything D1 holds about OAuth: to prove a refusal changed nothing. */
export async function storedOAuth() {
  const all = async (table: string, order: string) => (await env.DB.prepare(`SELECT * FROM ${table} ORDER BY ${order}`).all()).results;
  return {
    clients: await all("oauth_clients", "id"),
    grants: await all("oauth_grants", "id"),
    tokens: await all("oauth_tokens", "token_hash"),
    codes: await all("oauth_codes", "request_id"),
    audit: await all("audit_events", "id"),
  };
}
