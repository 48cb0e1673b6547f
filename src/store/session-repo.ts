/**
 * Admin sessions (table admin_sessions): one per sign-in. A console session's cookie secret is
 * stored only as its SHA-256; an API session's secret is random and never given out. Whether a
 * session is live is decided by identity/session-policy.ts.
 */
export type SessionKind = "console" | "api";

export interface SessionRow {
  id: string;
  secret_hash: string;
  admin_id: string;
  session_epoch: number;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
  kind: SessionKind;
  authenticated_at: number | null;
  last_used_at: number | null;
  user_agent: string | null;
  ip: string | null;
  /** JSON list of amr values. */
  methods: string;
  enrolment_only: number;
}

const COLUMNS =
  "id, secret_hash, admin_id, session_epoch, created_at, expires_at, revoked_at, kind, authenticated_at, last_used_at, user_agent, ip, methods, enrolment_only";

export function insertSession(db: D1Database, row: SessionRow): D1PreparedStatement {
  return db
    .prepare(`INSERT INTO admin_sessions (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
    .bind(
      row.id,
      row.secret_hash,
      row.admin_id,
      row.session_epoch,
      row.created_at,
      row.expires_at,
      row.revoked_at,
      row.kind,
      row.authenticated_at,
      row.last_used_at,
      row.user_agent,
      row.ip,
      row.methods,
      row.enrolment_only,
    );
}

export function getSessionBySecretHash(db: D1Database, secretHash: string): Promise<SessionRow | null> {
  return db.prepare(`SELECT ${COLUMNS} FROM admin_sessions WHERE secret_hash = ?`).bind(secretHash).first<SessionRow>();
}

export function getSession(db: D1Database, id: string): Promise<SessionRow | null> {
  return db.prepare(`SELECT ${COLUMNS} FROM admin_sessions WHERE id = ?`).bind(id).first<SessionRow>();
}

/** An admin's sessions that have not been revoked or reached their 24 hours, newest first. */
export async function openSessionsOf(db: D1Database, adminId: string, now: number): Promise<SessionRow[]> {
  const { results } = await db
    .prepare(`SELECT ${COLUMNS} FROM admin_sessions WHERE admin_id = ? AND revoked_at IS NULL AND expires_at > ? ORDER BY created_at DESC, id DESC LIMIT 200`)
    .bind(adminId, now)
    .all<SessionRow>();
  return results;
}

/** Ends a session; a second sign-out changes nothing. */
export function revokeSession(db: D1Database, id: string, now: number): D1PreparedStatement {
  return db.prepare("UPDATE admin_sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL").bind(now, id);
}

/** Ends one of `adminId`'s sessions: changes nothing for another admin's session id. */
export function revokeSessionOf(db: D1Database, adminId: string, id: string, now: number): D1PreparedStatement {
  return db.prepare("UPDATE admin_sessions SET revoked_at = ? WHERE id = ? AND admin_id = ? AND revoked_at IS NULL").bind(now, id, adminId);
}

/** Ends every session of an admin. */
export function revokeSessionsOf(db: D1Database, adminId: string, now: number): D1PreparedStatement {
  return db.prepare("UPDATE admin_sessions SET revoked_at = ? WHERE admin_id = ? AND revoked_at IS NULL").bind(now, adminId);
}

/** Writes down a use of the session (the caller decides how often: session-policy.ts). */
export function recordSessionUse(db: D1Database, id: string, now: number, ip: string | null): D1PreparedStatement {
  return db.prepare("UPDATE admin_sessions SET last_used_at = ?, ip = coalesce(?, ip) WHERE id = ?").bind(now, ip, id);
}

/** A step-up: the admin proved who they are again in this session. */
export function recordAuthentication(db: D1Database, id: string, now: number): D1PreparedStatement {
  return db.prepare("UPDATE admin_sessions SET authenticated_at = ?, last_used_at = ? WHERE id = ? AND revoked_at IS NULL").bind(now, now, id);
}

/** The admin now has a second factor: sessions that could only enrol one may do everything again. */
export function endEnrolmentOnly(db: D1Database, adminId: string): D1PreparedStatement {
  return db.prepare("UPDATE admin_sessions SET enrolment_only = 0 WHERE admin_id = ? AND enrolment_only = 1").bind(adminId);
}

/**
 * Removes sessions past their 24 hours: nothing can use them any more, and a token naming a
 * session that is gone is refused like one that was signed out. Revoked and idle sessions stay
 * until then, so a console that comes back is told why it was signed out.
 */
export function pruneSessions(db: D1Database, now: number): D1PreparedStatement {
  return db.prepare("DELETE FROM admin_sessions WHERE expires_at <= ?").bind(now);
}
