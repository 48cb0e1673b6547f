import { prefixedId } from "../keys/random";
import type { SessionKind, SessionRow } from "../store/session-repo";

/**
 * When an admin's sign-in holds, and what they are told when it no longer does. The store keeps
 * sessions; this decides whether one is live; the admin API answers (admin/credentials.ts).
 *
 * Every sign-in is a session: a console session (its secret in a cookie) or an API session (a
 * sign-in through POST /signins, such as the CLI's). A sign-in lasts MAX_SESSION_SECONDS after it
 * was made (OIDC's auth_time): a session ends then, and a token can no longer be refreshed, so a
 * stolen token or cookie cannot be kept alive forever. A console session also ends after the
 * configured idle time without use (SESSION_IDLE_MINUTES). Signing out ends a session at once, and
 * a password change ends every session and token issued before it (the admin's session epoch moves on).
 */
export const MAX_SESSION_SECONDS = 24 * 3600;

/**
 * A session's last use is written at most this often: an API call costs no D1 write, and the idle
 * limit is exact to within this much.
 */
export const LAST_USE_PRECISION_MS = 60_000;

/** Sensitive actions need an authentication (a sign-in or a step-up) at most this old. */
export const STEP_UP_SECONDS = 5 * 60;

/** Why an admin must sign in again. */
export type SessionEnd = "no_session" | "signed_out" | "password_changed" | "too_old" | "idle";

/** How long a console session may go unused, in minutes (config.sessionIdleMinutes). */
export interface IdleLimit {
  sessionIdleMinutes: number;
}

const SIGN_IN_AGAIN: Record<Exclude<SessionEnd, "idle">, string> = {
  no_session: "There is no console session: sign in.",
  signed_out: "The session has ended: sign in again.",
  password_changed: "The session has ended: sign in again.",
  too_old: `The sign-in is more than ${MAX_SESSION_SECONDS / 3600} hours old: sign in again.`,
};

/** What the admin is told when their sign-in has ended. */
export function signInAgain(end: SessionEnd, idle?: IdleLimit): string {
  if (end === "idle") return `The session was not used for ${idle?.sessionIdleMinutes ?? "too many"} minutes and has ended: sign in again.`;
  return SIGN_IN_AGAIN[end];
}

/** What a new session knows of the sign-in that starts it. */
export interface SessionStart {
  kind: SessionKind;
  /** How the admin proved who they are, as OpenID Connect amr values (e.g. ["pwd", "otp"]). */
  methods: string[];
  userAgent: string | null;
  /** The client's address, when addresses may be kept. */
  ip: string | null;
  /** A second factor is required and the admin has none: the session may only enrol one. */
  enrolmentOnly: boolean;
}

/** A session for an admin who has just signed in; its secret is kept only as a hash. */
export function startSession(admin: { id: string; session_epoch: number }, secretHash: string, start: SessionStart, now: number): SessionRow {
  return {
    id: prefixedId("ses"),
    secret_hash: secretHash,
    admin_id: admin.id,
    session_epoch: admin.session_epoch,
    created_at: now,
    expires_at: now + MAX_SESSION_SECONDS * 1000,
    revoked_at: null,
    kind: start.kind,
    authenticated_at: now,
    last_used_at: now,
    user_agent: start.userAgent === null ? null : start.userAgent.slice(0, 256),
    ip: start.ip,
    methods: JSON.stringify(start.methods),
    enrolment_only: start.enrolmentOnly ? 1 : 0,
  };
}

/** When the session was last used (at LAST_USE_PRECISION_MS). */
export function lastUsedAt(session: SessionRow): number {
  return session.last_used_at ?? session.created_at;
}

/** When the admin last proved who they are in this session: its sign-in, or a later step-up. */
export function authenticatedAt(session: SessionRow): number {
  return session.authenticated_at ?? session.created_at;
}

/** Why `session` no longer lets `admin` in at `now`, or null while it is live. */
export function sessionEnd(session: SessionRow | null, admin: { id: string; session_epoch: number } | null, now: number, idle: IdleLimit): SessionEnd | null {
  if (session === null || admin === null || session.admin_id !== admin.id) return "no_session";
  if (session.revoked_at !== null) return "signed_out";
  if (session.session_epoch !== admin.session_epoch) return "password_changed";
  if (session.expires_at <= now) return "too_old";
  if (session.kind === "console" && now - lastUsedAt(session) > idle.sessionIdleMinutes * 60_000) return "idle";
  return null;
}

/** Whether this use of a live session should be written down (at most once per LAST_USE_PRECISION_MS). */
export function useWorthRecording(session: SessionRow, now: number): boolean {
  return now - lastUsedAt(session) >= LAST_USE_PRECISION_MS;
}

/** Whether a sign-in made at `authTime` (Unix seconds) is past its MAX_SESSION_SECONDS at `now` (ms). */
export function signinTooOld(authTime: number, now: number): boolean {
  return now / 1000 - authTime > MAX_SESSION_SECONDS;
}

/** Whether an authentication at `at` (ms) is too old at `now` for a sensitive action. */
export function stepUpNeeded(at: number, now: number): boolean {
  return now - at > STEP_UP_SECONDS * 1000;
}
