-- OAuth 2.1 for third-party apps. Only adds: the previous release never reads these tables, and
-- the admins rebuild keeps every column, row and index it reads and writes.

-- Admins may have the role 'authorizer' (the operator's consent page: completes authorizations,
-- nothing else). SQLite cannot change a CHECK constraint in place, so the table is rebuilt.
CREATE TABLE admins_next (
  id                 TEXT PRIMARY KEY,
  email              TEXT NOT NULL,
  role               TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'viewer', 'verifier', 'authorizer')),
  password_hash      TEXT NOT NULL,
  password_salt      TEXT NOT NULL,
  password_iterations INTEGER NOT NULL,
  created_at         INTEGER NOT NULL,
  updated_at         INTEGER NOT NULL,
  last_signin_at     INTEGER,
  session_epoch      INTEGER NOT NULL DEFAULT 0
);
INSERT INTO admins_next (id, email, role, password_hash, password_salt, password_iterations, created_at, updated_at, last_signin_at, session_epoch)
  SELECT id, email, role, password_hash, password_salt, password_iterations, created_at, updated_at, last_signin_at, session_epoch FROM admins;
DROP TABLE admins;
ALTER TABLE admins_next RENAME TO admins;
CREATE UNIQUE INDEX admins_email ON admins (email);
CREATE INDEX admins_created ON admins (created_at, id);

CREATE TABLE IF NOT EXISTS oauth_clients (
  id                  TEXT PRIMARY KEY,
  tenant_id           TEXT REFERENCES tenants (id),
  name                TEXT NOT NULL,
  type                TEXT NOT NULL CHECK (type IN ('public', 'confidential')),
  redirect_uris       TEXT NOT NULL,
  scopes              TEXT NOT NULL,
  rate_limit          INTEGER NOT NULL,
  rate_window_seconds INTEGER NOT NULL,
  secret_hash         TEXT,
  created_at          INTEGER NOT NULL,
  updated_at          INTEGER NOT NULL,
  deleted_at          INTEGER
);
CREATE INDEX IF NOT EXISTS oauth_clients_tenant ON oauth_clients (tenant_id, created_at, id);
CREATE INDEX IF NOT EXISTS oauth_clients_created ON oauth_clients (created_at, id);

CREATE TABLE IF NOT EXISTS oauth_grants (
  id                  TEXT PRIMARY KEY,
  tenant_id           TEXT NOT NULL REFERENCES tenants (id),
  client_id           TEXT NOT NULL REFERENCES oauth_clients (id),
  subject             TEXT,
  scopes              TEXT NOT NULL,
  rate_limit          INTEGER NOT NULL,
  rate_window_seconds INTEGER NOT NULL,
  created_at          INTEGER NOT NULL,
  updated_at          INTEGER NOT NULL,
  revoked_at          INTEGER,
  revoked_reason      TEXT
);
CREATE INDEX IF NOT EXISTS oauth_grants_tenant ON oauth_grants (tenant_id, created_at, id);
CREATE INDEX IF NOT EXISTS oauth_grants_subject ON oauth_grants (tenant_id, subject, created_at, id);
CREATE INDEX IF NOT EXISTS oauth_grants_client ON oauth_grants (client_id, created_at, id);
CREATE INDEX IF NOT EXISTS oauth_grants_created ON oauth_grants (created_at, id);
CREATE UNIQUE INDEX IF NOT EXISTS oauth_grants_client_own ON oauth_grants (client_id) WHERE subject IS NULL AND revoked_at IS NULL;

CREATE TABLE IF NOT EXISTS oauth_tokens (
  token_hash TEXT PRIMARY KEY,
  kind       TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
  grant_id   TEXT NOT NULL REFERENCES oauth_grants (id),
  client_id  TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  used_at    INTEGER
);
CREATE INDEX IF NOT EXISTS oauth_tokens_grant ON oauth_tokens (grant_id, expires_at);

CREATE TABLE IF NOT EXISTS oauth_codes (
  request_id     TEXT PRIMARY KEY,
  code_hash      TEXT,
  client_id      TEXT NOT NULL,
  tenant_id      TEXT,
  subject        TEXT,
  scopes         TEXT,
  redirect_uri   TEXT NOT NULL,
  code_challenge TEXT NOT NULL,
  grant_id       TEXT,
  expires_at     INTEGER NOT NULL,
  created_at     INTEGER NOT NULL,
  used_at        INTEGER
);
CREATE UNIQUE INDEX IF NOT EXISTS oauth_codes_hash ON oauth_codes (code_hash);
CREATE INDEX IF NOT EXISTS oauth_codes_expiry ON oauth_codes (expires_at);
