/**
 * Console sessions (table admin_sessions): the cookie's secret is stored only as its SHA-256.
 * Whether a session is live is decided by identity/session-policy.ts.
 */
export interface SessionRow {
  id: string;
  secret_hash: string;
  admin_id: string;
  session_epoch: number;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
}

const COLUMNS = "id, secret_hash, admin_id, session_epoch, created_at, expires_at, revoked_at";

export function insertSession(db: D1Database, row: SessionRow): D1PreparedStatement {
  return db
    .prepare(`INSERT INTO admin_sessions (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)`)
    .bind(row.id, row.secret_hash, row.admin_id, row.session_epoch, row.created_at, row.expires_at, row.revoked_at);
}

export function getSessionBySecretHash(db: D1Database, secretHash: string): Promise<SessionRow | null> {
  return db.prepare(`SELECT ${COLUMNS} FROM admin_sessions WHERE secret_hash = ?`).bind(secretHash).first<SessionRow>();
}

export function getSession(db: D1Database, id: string): Promise<SessionRow | null> {
  return db.prepare(`SELECT ${COLUMNS} FROM admin_sessions WHERE id = ?`).bind(id).first<SessionRow>();
}

/** Ends a session; a second sign-out changes nothing. */
export function revokeSession(db: D1Database, id: string, now: number): D1PreparedStatement {
  return db.prepare("UPDATE admin_sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL").bind(now, id);
}
