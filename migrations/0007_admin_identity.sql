-- Admin identity: every sign-in is a session (console or API), with its last use for the idle
-- limit and its last authentication for step-up; second factors (TOTP, recovery codes, passkeys);
-- single-use challenges (mfa tokens, passkey challenges, single sign-on states); settings changed
-- through the API. Only adds: the previous release reads none of the new columns or tables.

-- `console`: a cookie session; `api`: a sign-in through POST /signins (the CLI), which has no cookie.
ALTER TABLE admin_sessions ADD COLUMN kind TEXT NOT NULL DEFAULT 'console' CHECK (kind IN ('console', 'api'));
-- When the admin last proved who they are in this session (sign-in or step-up); null: created_at.
ALTER TABLE admin_sessions ADD COLUMN authenticated_at INTEGER;
-- The session's last use, recorded at most once a minute; null: created_at.
ALTER TABLE admin_sessions ADD COLUMN last_used_at INTEGER;
ALTER TABLE admin_sessions ADD COLUMN user_agent TEXT;
-- The client's address at the last recorded use; null with LOG_CLIENT_IPS=false.
ALTER TABLE admin_sessions ADD COLUMN ip TEXT;
-- How the admin signed in, as OpenID Connect's amr values (JSON list), e.g. ["pwd","otp"].
ALTER TABLE admin_sessions ADD COLUMN methods TEXT NOT NULL DEFAULT '["pwd"]';
-- 1: a second factor is required and the admin has none: the session may only enrol one.
ALTER TABLE admin_sessions ADD COLUMN enrolment_only INTEGER NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS admin_sessions_expiry ON admin_sessions (expires_at);

-- A secret handed out once and taken back once: an mfa_token, a passkey challenge, a single
-- sign-on state. Stored by the SHA-256 of the secret; used_at marks it spent.
CREATE TABLE IF NOT EXISTS auth_challenges (
  id         TEXT PRIMARY KEY,
  kind       TEXT NOT NULL CHECK (kind IN ('mfa', 'passkey', 'sso')),
  admin_id   TEXT,
  data       TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  used_at    INTEGER
);
CREATE INDEX IF NOT EXISTS auth_challenges_expiry ON auth_challenges (expires_at);

-- An admin's TOTP authenticator; its secret encrypted (AES-GCM, a key derived from JWT_SECRET).
CREATE TABLE IF NOT EXISTS admin_totp (
  admin_id     TEXT PRIMARY KEY,
  secret       TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  confirmed_at INTEGER,                   -- null until a code from it is given: not yet in force
  last_step    INTEGER NOT NULL DEFAULT 0 -- the last 30-second step accepted; no code of it or before is taken again
);

-- Ten one-time recovery codes per admin with a second factor, each kept as its SHA-256.
CREATE TABLE IF NOT EXISTS admin_recovery_codes (
  admin_id   TEXT NOT NULL,
  code_hash  TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  used_at    INTEGER,
  PRIMARY KEY (admin_id, code_hash)
);

-- Passkeys (WebAuthn credentials) on keygate's own origin.
CREATE TABLE IF NOT EXISTS admin_passkeys (
  id           TEXT PRIMARY KEY,          -- the credential id, base64url
  admin_id     TEXT NOT NULL,
  public_key   TEXT NOT NULL,             -- COSE key, base64url
  counter      INTEGER NOT NULL,          -- the authenticator's signature counter
  transports   TEXT,                      -- JSON list
  name         TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  last_used_at INTEGER
);
CREATE INDEX IF NOT EXISTS admin_passkeys_admin ON admin_passkeys (admin_id);

-- Settings an owner changes through the API (audited): whether passwords may sign in, whether
-- every admin needs a second factor. A name absent here has its default.
CREATE TABLE IF NOT EXISTS settings (
  name       TEXT PRIMARY KEY,
  value      TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);
