-- Console sign-ins: one row per browser session. The browser holds the session's secret in an
-- httpOnly cookie; D1 holds only its SHA-256. An access token issued for a session names it (the
-- JWT's `sid`), so signing out (revoked_at) ends the cookie and every token of that session at once.
-- Only adds a table: the previous release never reads it.
CREATE TABLE IF NOT EXISTS admin_sessions (
  id            TEXT PRIMARY KEY,
  secret_hash   TEXT NOT NULL,
  admin_id      TEXT NOT NULL,
  session_epoch INTEGER NOT NULL,
  created_at    INTEGER NOT NULL,
  expires_at    INTEGER NOT NULL,
  revoked_at    INTEGER
);
CREATE UNIQUE INDEX IF NOT EXISTS admin_sessions_secret ON admin_sessions (secret_hash);
CREATE INDEX IF NOT EXISTS admin_sessions_admin ON admin_sessions (admin_id);
