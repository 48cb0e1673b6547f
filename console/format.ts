import { h, when } from "./dom";

/**
 * How the console says things: one time format everywhere (UTC, to the minute, never broken over
 * lines), the API's codes in words, counts with thousands separators.
 */

/** A time as the console shows it, with the exact instant on hover. */
export function time(iso: string | null | undefined): HTMLElement | string {
  if (!iso) return "—";
  return h("time", { datetime: iso, title: iso, class: "nowrap" }, when(iso));
}

export const count = (n: number) => n.toLocaleString("en-US");

/** What each outcome code means to a person reading a list of requests. */
const OUTCOMES: Record<string, string> = {
  valid: "Admitted",
  rate_limit_exceeded: "Rate limited",
  insufficient_permissions: "Missing scope",
  revoked_key: "Revoked key",
  expired_key: "Expired key",
  tenant_inactive: "Tenant suspended",
  invalid_key: "Unknown or deleted key",
  revoked_token: "Revoked grant (OAuth)",
  expired_token: "Expired token (OAuth)",
  invalid_token: "Unknown token (OAuth)",
  too_many_failed_attempts: "Blocked after failures",
};

export const outcome = (code: string) => OUTCOMES[code] ?? code.replace(/_/g, " ");

/** How a key reached keygate. */
const CARRIERS: Record<string, string> = { "x-api-key": "x-api-key header", bearer: "Bearer token", basic: "Basic auth", verify: "Verify API" };

export const carrier = (value: string | null) => (value ? (CARRIERS[value] ?? value) : "—");

/** The first letter in upper case: "expired" → "Expired". */
export const capitalized = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

/** "key.rotated" → "Key rotated", "admin.signed_in" → "Admin signed in", "signin.failed" → "Sign-in failed". */
export function action(value: string): string {
  return capitalized(value.replace(/^signin\./, "sign-in.").replace(/[._]/g, " "));
}

/** "rotated_to" → "Rotated to"; the unit or kind a value shows itself goes: "grace_seconds" → "Grace", "expires_at" → "Expires". */
export function label(field: string): string {
  return capitalized(field.replace(/_(seconds|at)$/, "").replace(/_/g, " "));
}

/** A key as a person tells it apart: its name, or its display form when it has none. */
export const keyName = (key: { name: string | null; display: string }) => key.name ?? key.display;
