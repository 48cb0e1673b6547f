import { env, exports } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { expect } from "vitest";
import type { AdminRole } from "../../src/authority/roles";
import type { QuotaRef } from "../../src/authority/key";
import { admin, errorOf, uniqueIp } from "../support/client";

/** Admin-suite helpers: admin users, sign-in, self-service calls, stored-state snapshots. */

export const BASE = "https://api.example.com";
export const PASSWORD = "correct horse battery staple";

let counter = 0;
export function uniqueEmail(tag = "admin"): string {
  return `${tag}-${Date.now().toString(36)}-${++counter}-${crypto.randomUUID().slice(0, 8)}@example.com`;
}

/** POST /signins; from a fresh client address unless told otherwise (attempts are limited per IP). */
export function signin(body: unknown, init: { ip?: string; authorization?: string } = {}): Promise<Response> {
  const headers: Record<string, string> = { "content-type": "application/json", "cf-connecting-ip": init.ip ?? uniqueIp() };
  if (init.authorization) headers.authorization = init.authorization;
  return exports.default.fetch(`${BASE}/_keygate/v1/signins`, {
    method: "POST",
    headers,
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

export async function tokenFor(email: string, password = PASSWORD): Promise<string> {
  const res = await signin({ grant_type: "password", email, password });
  if (res.status !== 200) throw new Error(`sign-in failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

export interface SignedIn {
  id: string;
  email: string;
  role: string;
  token: string;
}

/** An admin user of `role`, created with the ADMIN_TOKEN, and signed in. */
export async function adminUser(role: AdminRole): Promise<SignedIn> {
  const email = uniqueEmail(role);
  const res = await admin("POST", "/admins", { email, password: PASSWORD, role });
  if (res.status !== 201) throw new Error(`admin create failed: ${res.status} ${await res.text()}`);
  const created = (await res.json()) as { id: string };
  return { id: created.id, email, role, token: await tokenFor(email) };
}

/** An admin API call made with a tenant's API key (x-api-key), from a fresh client address. */
export function asKey(key: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
  const all: Record<string, string> = { "x-api-key": key, "cf-connecting-ip": uniqueIp(), ...headers };
  if (body !== undefined) all["content-type"] = "application/json";
  return exports.default.fetch(`${BASE}/_keygate/v1${path}`, {
    method,
    headers: all,
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
}

/**
 * An admin API call with `token` as the bearer, from client address `ip` (a fresh one unless
 * told): for tokens that are refused, since failed authentications are limited per client.
 */
export function adminWith(token: string, method: string, path: string, body?: unknown, ip: string = uniqueIp()): Promise<Response> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}`, "cf-connecting-ip": ip };
  if (body !== undefined) headers["content-type"] = "application/json";
  return exports.default.fetch(`${BASE}/_keygate/v1${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** A raw admin API call with whatever headers the test wants. */
export function rawAdmin(method: string, path: string, init: { headers?: Record<string, string>; body?: BodyInit } = {}): Promise<Response> {
  return exports.default.fetch(`${BASE}/_keygate/v1${path}`, { method, headers: init.headers, body: init.body });
}

export async function expectError(res: Response, status: number, code: string) {
  const error = await errorOf(res);
  expect({ status: error.status, code: error.error.code }).toEqual({ status, code });
  return error;
}

/** The fields a 400 named as failing (each once, in order). */
export async function failingFields(res: Response): Promise<string[]> {
  const error = await expectError(res, 400, "invalid_request");
  return [...new Set(((error.error.details?.fields ?? []) as { field: string }[]).map((f) => f.field))];
}

/** Everything D1 holds about keys, tenants, admins and the audit trail: to prove a refusal changed nothing. */
export async function storedState() {
  const all = async (table: string) => (await env.DB.prepare(`SELECT * FROM ${table} ORDER BY id`).all()).results;
  return { tenants: await all("tenants"), keys: await all("api_keys"), admins: await all("admins"), audit: await all("audit_events") };
}

export async function json<T = Record<string, unknown>>(res: Response, status: number): Promise<T> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  return JSON.parse(text) as T;
}

/** A key as the admin API shows it (with `key` only when just created or rotated). */
export interface KeyBody {
  id: string;
  object: string;
  key?: string;
  tenant_id: string;
  name: string | null;
  description: string | null;
  environment: string;
  display: string;
  scopes: string[];
  status: string;
  expires_at: string | null;
  rate_limit: { limit: number; window_seconds: number };
  created_at: string;
  updated_at: string;
  revoked_at: string | null;
  rotated_from: string | null;
  rotated_to: string | null;
}

/** One page of a list route. */
export interface List<T> {
  object: string;
  data: T[];
  has_more: boolean;
  next_cursor: string | null;
}

/** What a key's object has stored: its policy, with the tenant version it was written with; null if never written. */
export function storedGuard(keyId: string): Promise<{ tenantActive: boolean; tenantVersion?: number; quota?: QuotaRef | null } | null> {
  return runInDurableObject(env.KEY_GUARD.getByName(keyId), (_instance, state) => {
    const rows = state.storage.sql.exec<{ policy: string }>("SELECT policy FROM guard").toArray();
    return rows[0] ? (JSON.parse(rows[0].policy) as { tenantActive: boolean; tenantVersion?: number; quota?: QuotaRef | null }) : null;
  });
}

/**
 * `count` keys put straight into D1 (as an import would), with ids that sort before any key the
 * API makes, so a fan-out in id order reaches them first.
 */
export async function importKeys(tenantId: string, count: number, environment: "live" | "test" = "live"): Promise<string[]> {
  const tag = crypto.randomUUID().replace(/-/g, "").slice(0, 8);
  const now = Date.now();
  await env.DB.prepare(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
     INSERT INTO api_keys (id, tenant_id, key_hash, display, environment, scopes, rate_limit, rate_window_seconds, created_at, updated_at)
     SELECT printf('key_0000%05d%s', i, ?2), ?3, printf('imported-%s-%05d', ?2, i), 'kg_' || ?5 || '_impo…rted', ?5, '["read"]', 60, 60, ?4, ?4 FROM n`,
  )
    .bind(count, tag, tenantId, now, environment)
    .run();
  const { results } = await env.DB.prepare("SELECT id FROM api_keys WHERE tenant_id = ? AND environment = ? AND id LIKE ? ORDER BY id")
    .bind(tenantId, environment, `key_0000%${tag}`)
    .all<{ id: string }>();
  return results.map((row) => row.id);
}
