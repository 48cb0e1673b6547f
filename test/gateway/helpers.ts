import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { expect } from "vitest";
import worker from "../../src/index";
import type { Environment } from "../../src/authority/key";
import { generateKey } from "../../src/keys/format";
import { hashKey } from "../../src/keys/hash";
import type { Echo } from "../support/client";

/** Gateway-suite helpers: direct calls with other settings, stored-state snapshots, credentials. */

export const BASE = "https://api.example.com";

/**
 * Calls the worker's own fetch handler with this test's bindings plus `overrides` (a new env object,
 * so readConfig parses it afresh), and waits for everything it left in waitUntil: whatever it
 * would write to KV afterwards has been written when this returns.
 */
export async function callWorker(path: string, init: RequestInit = {}, overrides: Record<string, unknown> = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const request = new Request(`${BASE}${path}`, init) as Request<unknown, IncomingRequestCfProperties>;
  const response = await worker.fetch(request, { ...env, ...overrides } as Env, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

/**
 * The bindings with D1, KV and both Durable Object namespaces taken away: a request that gets its
 * normal answer under these did no storage I/O at all (any access would throw and fail closed).
 */
export const NO_STORAGE = { DB: undefined, KEYS_CACHE: undefined, KEY_GUARD: undefined, ATTEMPT_GUARD: undefined };

/** `Authorization: Basic` as curl -u "user:password" sends it. */
export function basic(user: string, password = ""): string {
  return `Basic ${btoa(`${user}:${password}`)}`;
}

/** A key that passes every format check but was never issued. */
export function unknownKey(environment: Environment = "live"): string {
  return generateKey("kg", environment);
}

/** The KV entry the lookup path keeps for `key`, or null. */
export async function kvEntryFor(key: string): Promise<unknown> {
  return env.KEYS_CACHE.get(`key:${await hashKey(key)}`, "json");
}

export interface StoredState {
  tenants: number;
  apiKeys: number;
  auditEvents: number;
  kvNames: string[];
}

/** Everything bad input must leave alone: D1 row counts and every KV name. */
export async function storedState(): Promise<StoredState> {
  const count = async (table: string) =>
    (await env.DB.prepare(`SELECT COUNT(*) AS n FROM ${table}`).first<{ n: number }>())!.n;
  const kvNames: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await env.KEYS_CACHE.list(cursor ? { cursor } : {});
    kvNames.push(...page.keys.map((k) => k.name));
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor);
  return { tenants: await count("tenants"), apiKeys: await count("api_keys"), auditEvents: await count("audit_events"), kvNames: kvNames.sort() };
}

/** The origin's echo of a request that got through; fails the test with the body otherwise. */
export async function echoOf(res: Response): Promise<Echo> {
  const text = await res.text();
  expect(res.status, text).toBe(200);
  return JSON.parse(text) as Echo;
}

/** `length` random bytes (getRandomValues fills at most 64 KiB per call). */
export function randomBytes(length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let offset = 0; offset < length; offset += 65_536) crypto.getRandomValues(out.subarray(offset, Math.min(length, offset + 65_536)));
  return out;
}

export async function sha256Hex(data: BufferSource | string): Promise<string> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  return Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)), (b) => b.toString(16).padStart(2, "0")).join("");
}
