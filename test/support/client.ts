import { exports } from "cloudflare:workers";
import { inject } from "vitest";
import { TEST_ADMIN_TOKEN } from "./constants";

/** Test helpers that speak to the real worker (its default export, in workerd) and the real origin. */

export const ADMIN_TOKEN = TEST_ADMIN_TOKEN;
export const originUrl = () => inject("originUrl");

export function gateway(path: string, init: RequestInit = {}): Promise<Response> {
  return exports.default.fetch(`https://api.example.com${path}`, init);
}

export function admin(method: string, path: string, body?: unknown, token: string = ADMIN_TOKEN): Promise<Response> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  return exports.default.fetch(`https://api.example.com/_keygate/v1${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
}

export interface Created {
  id: string;
  key: string;
  tenant_id: string;
  [field: string]: unknown;
}

export async function createTenant(name = "Acme"): Promise<{ id: string; [field: string]: unknown }> {
  const res = await admin("POST", "/tenants", { name });
  if (res.status !== 201) throw new Error(`tenant create failed: ${res.status} ${await res.text()}`);
  return res.json();
}

export async function createKey(fields: Record<string, unknown> = {}): Promise<Created> {
  const tenantId = (fields.tenant_id as string | undefined) ?? (await createTenant()).id;
  const res = await admin("POST", "/keys", { tenant_id: tenantId, ...fields });
  if (res.status !== 201) throw new Error(`key create failed: ${res.status} ${await res.text()}`);
  return res.json();
}

/** What the origin saw of a proxied request (its JSON echo). */
export interface Echo {
  method: string;
  path: string;
  query: string;
  headers: Record<string, string>;
  bodyLength: number;
  bodySha256: string;
}

export async function originCounts(): Promise<Record<string, number>> {
  return (await fetch(`${originUrl()}/__origin/counts`)).json();
}

export interface ErrorBody {
  success: false;
  error: { code: string; message: string; details: Record<string, unknown> | null };
  requestId: string;
}

/** Asserts the one error envelope and returns it. */
export async function errorOf(res: Response): Promise<ErrorBody & { status: number }> {
  const body = (await res.json()) as ErrorBody;
  if (body.success !== false || !body.error?.code || !body.requestId?.startsWith("req_")) {
    throw new Error(`not an error envelope: ${JSON.stringify(body)}`);
  }
  if (res.headers.get("x-request-id") !== body.requestId) throw new Error("x-request-id differs from requestId");
  return { ...body, status: res.status };
}

/**
 * A client address no other test uses, for anything that sends unknown, revoked or expired keys
 * (failed authentications are limited per client address). Each call is its own IPv6 /64, so it
 * stays separate even if addresses are grouped by network.
 */
export function uniqueIp(): string {
  const [a, b, c] = Array.from(crypto.getRandomValues(new Uint16Array(3)), (n) => n.toString(16));
  return `2001:db8:${a}:${b}::${c}`;
}

/** Request options that present `key` in x-api-key, from client address `ip` when given. */
export function withKey(key: string, ip?: string, init: RequestInit = {}): RequestInit {
  const headers = new Headers(init.headers);
  headers.set("x-api-key", key);
  if (ip) headers.set("cf-connecting-ip", ip);
  return { ...init, headers };
}

/** One gateway request with `key` from a fresh client address: "ok", or the error code it got. */
export async function useKey(key: string): Promise<string> {
  const res = await gateway("/items", withKey(key, uniqueIp()));
  if (res.status === 200) {
    await res.body?.cancel();
    return "ok";
  }
  return (await errorOf(res)).error.code;
}
