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

export const currentAdmin = () => me;
export const whenSignedOut = (handler: (message: string) => void) => (onSignedOut = handler);

async function toError(res: Response): Promise<ApiError> {
  const body = await res.json().catch(() => null);
  const error = body?.error;
  if (!error) return new ApiError(res.status, "unknown", `keygate answered ${res.status}.`);
  return new ApiError(res.status, error.code, error.message, Array.isArray(error.details?.fields) ? error.details.fields : []);
}

function claims(jwt: string): Me {
  const payload = JSON.parse(atob(jwt.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/")));
  return { id: payload.sub, role: payload.role };
}

function accept(body: { access_token: string; expires_in: number }): void {
  token = body.access_token;
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

export async function signIn(email: string, password: string): Promise<void> {
  const res = await sessionCall("POST", "", { email, password });
  if (!res.ok) throw await toError(res);
  accept(await res.json());
}

/** A new token from the session cookie; false when there is no session (anymore). */
export async function refresh(): Promise<boolean> {
  const res = await sessionCall("POST", "/refresh");
  if (res.ok) {
    accept(await res.json());
    return true;
  }
  const error = await toError(res);
  if (token !== null) end(error.message.includes("hours old") ? "Your session has reached its 24-hour limit: sign in again." : "Your session has ended: sign in again.");
  return false;
}

export async function signOut(): Promise<void> {
  await sessionCall("DELETE", "/current");
  end("You are signed out.");
}

/** One admin API call. A refused token is refreshed once; a session that cannot be, signs out. */
export async function api<T = any>(method: string, path: string, body?: unknown, retry = true): Promise<T> {
  const res = await fetch(`${API}${path}`, {
    method,
    headers: { authorization: `Bearer ${token ?? ""}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
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
