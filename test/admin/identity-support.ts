import { env } from "cloudflare:workers";
import { TOTP } from "otpauth";
import { expect } from "vitest";
import { systemClock } from "../../src/clock";
import { callWorker } from "../gateway/helpers";
import { admin, uniqueIp } from "../support/client";
import { PASSWORD, uniqueEmail } from "./support";

/**
 * Helpers for the admin identity tests: calls with cookies, CSRF header, user agent and settings
 * of their own; codes from an authenticator app computed by another implementation (otpauth) at
 * keygate's clock, which the tests move forward (never back) instead of waiting.
 */

export const CSRF = { "x-keygate-csrf": "1" };
export const STEP_MS = 30_000;
export const MINUTE = 60_000;

export interface CallOptions {
  token?: string;
  cookie?: string;
  headers?: Record<string, string>;
  body?: unknown;
  ip?: string;
  /** Bindings over the test worker's own (vitest.config.ts), e.g. SESSION_IDLE_MINUTES. */
  settings?: Record<string, string>;
}

/** An admin API call through the worker, from a fresh client address unless told. */
export async function call(method: string, path: string, options: CallOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { "cf-connecting-ip": options.ip ?? uniqueIp(), ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.cookie) headers.cookie = options.cookie;
  if (options.body !== undefined) headers["content-type"] = "application/json";
  const init = { method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body), redirect: "manual" as const };
  return callWorker(`/_keygate/v1${path}`, init, options.settings);
}

export async function body<T = any>(res: Response, status: number): Promise<T> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  return (text ? JSON.parse(text) : null) as T;
}

/** A new admin (made with the root token) and their email; not signed in. */
export async function newAdmin(role: "owner" | "admin" | "viewer" = "owner"): Promise<{ id: string; email: string }> {
  const email = uniqueEmail(role);
  const res = await admin("POST", "/admins", { email, password: PASSWORD, role });
  const created = (await res.json()) as { id: string };
  return { id: created.id, email };
}

/** A password sign-in through POST /signins: the response (200, or 401 mfa_required). */
export function passwordSignin(email: string, options: CallOptions = {}, password = PASSWORD): Promise<Response> {
  return call("POST", "/signins", { ...options, body: { grant_type: "password", email, password } });
}

/** A token from a password sign-in of an admin without a second factor. */
export async function signedIn(email: string, options: CallOptions = {}): Promise<string> {
  return (await body<{ access_token: string }>(await passwordSignin(email, options), 200)).access_token;
}

/** A console sign-in (POST /sessions): the cookie and token of its session. */
export async function consoleSignin(email: string, options: CallOptions = {}): Promise<{ cookie: string; token: string }> {
  const res = await call("POST", "/sessions", { ...options, headers: { ...CSRF, ...options.headers }, body: { email, password: PASSWORD } });
  const token = (await body<{ access_token: string }>(res, 200)).access_token;
  return { cookie: res.headers.get("set-cookie")!.split(";")[0]!, token };
}

/** The code an authenticator app shows for `secret` at keygate's clock, `steps` steps away. */
export function totpCode(secret: string, steps = 0): string {
  return new TOTP({ secret, digits: 6, period: 30, algorithm: "SHA1" }).generate({ timestamp: systemClock.now() + steps * STEP_MS });
}

/** Moves keygate's clock (and the tests') on to the start of the next 30-second step. */
export function nextStep(): void {
  systemClock.advance(STEP_MS - (systemClock.now() % STEP_MS) + 1);
}

/** Enrols and confirms an authenticator app for the token's admin: its secret and recovery codes. */
export async function enrolTotp(token: string): Promise<{ secret: string; recoveryCodes: string[] }> {
  const { secret } = await body<{ secret: string }>(await call("POST", "/account/totp", { token }), 200);
  const confirmed = await body<{ recovery_codes: string[] }>(await call("POST", "/account/totp/confirm", { token, body: { code: totpCode(secret) } }), 200);
  // The confirming code's step is spent: the next code comes from the next step.
  nextStep();
  return { secret, recoveryCodes: confirmed.recovery_codes };
}

/** The details of a 401 mfa_required. */
export async function mfaRequired(res: Response): Promise<{ mfa_token: string; methods: string[]; expires_in: number; passkey_options?: Record<string, unknown> }> {
  const error = await body<{ error: { code: string; details: any } }>(res, 401);
  expect(error.error.code).toBe("mfa_required");
  return error.error.details;
}

/** Audit events of `action` about `resourceId`, oldest first. */
export async function auditOf(resourceId: string, action?: string): Promise<{ action: string; actor_id: string; details: any }[]> {
  const rows = await env.DB.prepare(`SELECT action, actor_id, details FROM audit_events WHERE resource_id = ?${action ? " AND action = ?" : ""} ORDER BY created_at, id`)
    .bind(...(action ? [resourceId, action] : [resourceId]))
    .all<{ action: string; actor_id: string; details: string | null }>();
  return rows.results.map((row) => ({ ...row, details: row.details ? JSON.parse(row.details) : null }));
}
