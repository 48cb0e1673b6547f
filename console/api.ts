import type { AdminRole } from "../src/authority/roles";

/**
 * The console's only way to the data: the admin API, with the access token held in this module's
 * memory (never in localStorage or a readable cookie). The session's cookie is httpOnly and goes
 * only to /_keygate/v1/sessions; the page refreshes its token from it before the hour is up.
 */
const API = "/_keygate/v1";
/** Refresh this long before the token's hour ends. */
const REFRESH_MARGIN_MS = 5 * 60 * 1000;
/** Sent with every cookie-authenticated call (the server's CSRF check). */
const CSRF = { "x-keygate-csrf": "1" };

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fields: { field: string; message: string }[] = [],
    readonly details: Record<string, any> | null = null,
  ) {
    super(message);
  }
}

export interface Me {
  id: string;
  role: AdminRole;
}

let token: string | null = null;
let me: Me | null = null;
let refreshTimer: ReturnType<typeof setTimeout> | undefined;
/** Called when the session is over: the page returns to sign-in with this message. */
let onSignedOut: (message: string) => void = () => {};
/** Asks the admin to confirm who they are (step-up); true once they have. */
let onStepUp: (details: Record<string, any>) => Promise<boolean> = async () => false;
/** Called when a call is refused until the admin enrols a second factor. */
let onEnrolmentRequired: () => void = () => {};

export const currentAdmin = () => me;
export const whenSignedOut = (handler: (message: string) => void) => (onSignedOut = handler);
export const whenStepUpNeeded = (handler: (details: Record<string, any>) => Promise<boolean>) => (onStepUp = handler);
export const whenEnrolmentRequired = (handler: () => void) => (onEnrolmentRequired = handler);

async function toError(res: Response): Promise<ApiError> {
  const body = await res.json().catch(() => null);
  const error = body?.error;
  if (!error) return new ApiError(res.status, "unknown", `keygate answered ${res.status}.`);
  return new ApiError(res.status, error.code, error.message, Array.isArray(error.details?.fields) ? error.details.fields : [], error.details ?? null);
}

function claims(jwt: string): Me {
  const payload = JSON.parse(atob(jwt.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/")));
  return { id: payload.sub, role: payload.role };
}

/** The signed-in session may only enrol a second factor (every admin must have one). */
let enrolmentRequired = false;
export const mustEnrol = () => enrolmentRequired;

function accept(body: { access_token: string; expires_in: number; enrolment_required?: boolean }): void {
  token = body.access_token;
  enrolmentRequired = body.enrolment_required === true;
  me = claims(token);
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => void refresh().catch(() => {}), Math.max(body.expires_in * 1000 - REFRESH_MARGIN_MS, 10_000));
}

function end(message: string): void {
  token = null;
  me = null;
  clearTimeout(refreshTimer);
  onSignedOut(message);
}

async function sessionCall(method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${API}/sessions${path}`, {
    method,
    credentials: "same-origin",
    headers: { ...CSRF, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/**
 * A step of the console's sign-in: `{email, password}`, then (when that answers mfa_required, an
 * ApiError whose details hold the mfa_token) `{mfa_token, code}` or `{mfa_token, passkey}`; or a
 * passkey alone, `{passkey}`.
 */
export async function signIn(step: Record<string, unknown>): Promise<void> {
  const res = await sessionCall("POST", "", step);
  if (!res.ok) throw await toError(res);
  accept(await res.json());
}

/** A passkey challenge for signing in (for the admin of `mfaToken`, when given). */
export async function signInPasskeyOptions(mfaToken?: string): Promise<Record<string, any>> {
  const res = await sessionCall("POST", "/passkey-options", mfaToken ? { mfa_token: mfaToken } : undefined);
  if (!res.ok) throw await toError(res);
  return (await res.json()).options;
}

/** Why a session ended, in the admin's words. */
function endedBecause(error: ApiError): string {
  switch (error.details?.reason) {
    case "idle":
      return `You were signed out: ${error.message.replace(/: sign in again\.$/, "")}. Sign in again.`;
    case "too_old":
      return "Your session has reached its 24-hour limit: sign in again.";
    case "signed_out":
      return "Your session was signed out, here or from another device: sign in again.";
    case "password_changed":
      return "Your password was changed or you signed out everywhere: sign in again.";
    default:
      return "Your session has ended: sign in again.";
  }
}

/** A new token from the session cookie; false when there is no session (anymore). */
export async function refresh(): Promise<boolean> {
  const res = await sessionCall("POST", "/refresh");
  if (res.ok) {
    accept(await res.json());
    return true;
  }
  const error = await toError(res);
  if (token !== null) end(endedBecause(error));
  return false;
}

export async function signOut(): Promise<void> {
  await sessionCall("DELETE", "/current");
  end("You are signed out.");
}

/**
 * One admin API call. A refused token is refreshed once; a session that cannot be, signs out. A
 * sensitive action refused for want of a recent authentication asks the admin to confirm who they
 * are, in place, and then is made again.
 */
export async function api<T = any>(method: string, path: string, body?: unknown, retry = true): Promise<T> {
  const res = await fetch(`${API}${path}`, {
    method,
    headers: { authorization: `Bearer ${token ?? ""}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 401 || res.status === 403) {
    const error = await toError(res.clone());
    if (error.code === "reauthentication_required" && retry) {
      if (await onStepUp(error.details ?? {})) return api(method, path, body, false);
      throw error;
    }
    if (error.code === "second_factor_required") onEnrolmentRequired();
  }
  if (res.status === 401 && retry && token !== null) {
    if (await refresh()) return api(method, path, body, false);
    throw await toError(res);
  }
  if (!res.ok) throw await toError(res);
  return (res.status === 204 ? null : await res.json()) as T;
}

/** A query string of the given values, leaving out empty ones. */
export function query(params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : "";
}
