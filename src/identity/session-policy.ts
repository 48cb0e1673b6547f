import { prefixedId } from "../keys/random";
import type { SessionRow } from "../store/session-repo";

/**
 * When an admin's sign-in holds, and what they are told when it no longer does. The store keeps
 * sessions; this decides whether one is live; the admin API answers (admin/credentials.ts).
 *
 * A sign-in lasts MAX_SESSION_SECONDS after the password was given (OIDC's auth_time): a console
 * session ends then, and a token can no longer be refreshed, so a stolen token or cookie cannot be
 * kept alive forever. Signing out ends a session at once, and a password change ends every
 * session and token issued before it (the admin's session epoch moves on).
 */
export const MAX_SESSION_SECONDS = 24 * 3600;

/** Why an admin must sign in again. */
export type SessionEnd = "no_session" | "signed_out" | "password_changed" | "too_old";

const SIGN_IN_AGAIN: Record<SessionEnd, string> = {
  no_session: "There is no console session: sign in.",
  signed_out: "The session has ended: sign in again.",
  password_changed: "The session has ended: sign in again.",
  too_old: `The sign-in is more than ${MAX_SESSION_SECONDS / 3600} hours old: sign in with the password again.`,
};

/** What the admin is told when their sign-in has ended. */
export function signInAgain(end: SessionEnd): string {
  return SIGN_IN_AGAIN[end];
}

/** A console session for an admin who has just given their password; its secret is kept only as a hash. */
export function startSession(admin: { id: string; session_epoch: number }, secretHash: string, now: number): SessionRow {
  return {
    id: prefixedId("ses"),
    secret_hash: secretHash,
    admin_id: admin.id,
    session_epoch: admin.session_epoch,
    created_at: now,
    expires_at: now + MAX_SESSION_SECONDS * 1000,
    revoked_at: null,
  };
}

/** Why `session` no longer lets `admin` in at `now`, or null while it is live. */
export function sessionEnd(session: SessionRow | null, admin: { id: string; session_epoch: number } | null, now: number): SessionEnd | null {
  if (session === null || admin === null || session.admin_id !== admin.id) return "no_session";
  if (session.revoked_at !== null) return "signed_out";
  if (session.session_epoch !== admin.session_epoch) return "password_changed";
  if (session.expires_at <= now) return "too_old";
  return null;
}

/** Whether a sign-in made at `authTime` (Unix seconds) is past its MAX_SESSION_SECONDS at `now` (ms). */
export function signinTooOld(authTime: number, now: number): boolean {
  return now / 1000 - authTime > MAX_SESSION_SECONDS;
}
