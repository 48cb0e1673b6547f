-- keygate's D1 schema as it stands, complete, in one readable place.
-- Databases are not built from this file: they run migrations/ in order
--   wrangler d1 migrations apply DB --local   (or --remote)
-- and test/schema-drift.test.ts proves the migrations give exactly this schema. A storage change
-- is a new migration and the matching change here, in the same commit.
-- Timestamps are Unix milliseconds. Keys are stored only as SHA-256 hashes.

CREATE TABLE IF NOT EXISTS tenants (
  id          TEXT PRIMARY KEY,                      -- ten_…
  name        TEXT NOT NULL,
  status      TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL,
  quotas      TEXT                                   -- JSON {live?, test?: {limit, period, anchorDay?}}; NULL: no quota
);
CREATE INDEX IF NOT EXISTS tenants_created ON tenants (created_at, id);

CREATE TABLE IF NOT EXISTS api_keys (
  id                  TEXT PRIMARY KEY,              -- key_…
  tenant_id           TEXT NOT NULL REFERENCES tenants (id),
  key_hash            TEXT NOT NULL,                 -- hex SHA-256 of the whole key
  display             TEXT NOT NULL,                 -- kg_live_ab12…9xYz
  name                TEXT,
  description         TEXT,
  environment         TEXT NOT NULL CHECK (environment IN ('live', 'test')),
  scopes              TEXT NOT NULL,                 -- JSON array of strings
  rate_limit          INTEGER NOT NULL,
  rate_window_seconds INTEGER NOT NULL,
  expires_at          INTEGER,
  created_at          INTEGER NOT NULL,
  updated_at          INTEGER NOT NULL,
  revoked_at          INTEGER,
  deleted_at          INTEGER,
  rotated_from        TEXT,                          -- the key this one replaced
  rotated_to          TEXT,                          -- the key that replaced this one
  rate_limits         TEXT,                          -- JSON [{name, limit, windowSeconds}]; NULL: the one window above
  credits             TEXT                           -- JSON {remaining, refill}: the plan, and credits as an admin last set them; NULL: none
);
CREATE UNIQUE INDEX IF NOT EXISTS api_keys_hash ON api_keys (key_hash);
CREATE INDEX IF NOT EXISTS api_keys_tenant ON api_keys (tenant_id, created_at, id);
CREATE INDEX IF NOT EXISTS api_keys_created ON api_keys (created_at, id);
CREATE INDEX IF NOT EXISTS api_keys_expiring ON api_keys (expires_at) WHERE expires_at IS NOT NULL;  -- the overview's keys due soon

-- A tenant status change still being written to its keys' Durable Objects (PATCH /tenants/:id
-- writes at most a bounded number per call; a repeated PATCH continues after after_key_id).
-- version is the tenants.updated_at the status was written with; the objects ignore older ones.
CREATE TABLE IF NOT EXISTS tenant_fanouts (
  tenant_id     TEXT PRIMARY KEY REFERENCES tenants (id),
  version       INTEGER NOT NULL,
  tenant_active INTEGER NOT NULL,                    -- 1 active, 0 suspended
  after_key_id  TEXT NOT NULL DEFAULT ''             -- keys are written in id order; '' = none yet
);

-- A tenant's quota change for one environment still being written to the Durable Objects of that
-- environment's keys, as tenant_fanouts does for a status. version is the tenants.updated_at the
-- quotas were set with; a newer change starts its own fan-out from the first key.
CREATE TABLE IF NOT EXISTS quota_fanouts (
  tenant_id    TEXT NOT NULL REFERENCES tenants (id),
  environment  TEXT NOT NULL,
  version      INTEGER NOT NULL,
  after_key_id TEXT NOT NULL DEFAULT '',              -- keys are written in id order; '' = none yet
  PRIMARY KEY (tenant_id, environment)
);

CREATE TABLE IF NOT EXISTS admins (
  id                 TEXT PRIMARY KEY,               -- adm_…
  email              TEXT NOT NULL,
  role               TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'viewer', 'verifier')),
  password_hash      TEXT NOT NULL,                  -- hex PBKDF2-SHA256
  password_salt      TEXT NOT NULL,                  -- hex, per user
  password_iterations INTEGER NOT NULL,
  created_at         INTEGER NOT NULL,
  updated_at         INTEGER NOT NULL,
  last_signin_at     INTEGER,                        -- also names the sign-in failure counter (see signin-throttle.ts)
  session_epoch      INTEGER NOT NULL DEFAULT 0      -- in every JWT; bumped on a password change, which ends older tokens
);
CREATE UNIQUE INDEX IF NOT EXISTS admins_email ON admins (email);   -- stored lower-cased
CREATE INDEX IF NOT EXISTS admins_created ON admins (created_at, id);

CREATE TABLE IF NOT EXISTS audit_events (
  id            TEXT PRIMARY KEY,                    -- evt_…
  actor_type    TEXT NOT NULL,                       -- root | admin | key
  actor_id      TEXT NOT NULL,
  action        TEXT NOT NULL,                       -- e.g. key.created
  resource_type TEXT NOT NULL,
  resource_id   TEXT NOT NULL,
  tenant_id     TEXT,
  request_id    TEXT NOT NULL,
  details       TEXT,                                -- JSON
  created_at    INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_events_created ON audit_events (created_at, id);
-- Filtered lists page by (created_at, id): every filter's index ends in both, so a page is a range scan.
CREATE INDEX IF NOT EXISTS audit_events_resource_page ON audit_events (resource_id, created_at, id);
CREATE INDEX IF NOT EXISTS audit_events_tenant ON audit_events (tenant_id, created_at, id);
CREATE INDEX IF NOT EXISTS audit_events_actor ON audit_events (actor_id, created_at, id);
CREATE INDEX IF NOT EXISTS audit_events_action ON audit_events (action, created_at, id);
CREATE INDEX IF NOT EXISTS audit_events_request_page ON audit_events (request_id, created_at, id);

-- Usage per tenant, written by each key's Durable Object at most every few seconds (see key-guard.ts).
CREATE TABLE IF NOT EXISTS tenant_usage_hourly (
  tenant_id    TEXT NOT NULL,
  hour         INTEGER NOT NULL,                     -- Unix ms of the UTC hour's start
  key_id       TEXT NOT NULL,
  admitted     INTEGER NOT NULL DEFAULT 0,
  rate_limited INTEGER NOT NULL DEFAULT 0,
  refused      TEXT NOT NULL DEFAULT '{}',           -- JSON {code: n}: revoked_key, expired_key, tenant_inactive, insufficient_permissions, invalid_key, usage_exceeded, quota_exceeded
  units        INTEGER NOT NULL DEFAULT 0,           -- cost units the admissions spent
  PRIMARY KEY (tenant_id, hour, key_id)              -- kept 30 days
);

CREATE TABLE IF NOT EXISTS key_last_used (
  key_id       TEXT PRIMARY KEY,
  last_used_at INTEGER NOT NULL                      -- the key's last admission, as last forwarded
);

-- Console sign-ins (POST /_keygate/v1/sessions): the browser holds the secret in an httpOnly cookie,
-- D1 only its SHA-256. Access tokens of a session carry its id (JWT `sid`); signing out sets
-- revoked_at, which ends the cookie and every token of the session.
CREATE TABLE IF NOT EXISTS admin_sessions (
  id            TEXT PRIMARY KEY,                    -- ses_…
  secret_hash   TEXT NOT NULL,                       -- hex SHA-256 of the cookie's secret
  admin_id      TEXT NOT NULL,
  session_epoch INTEGER NOT NULL,                    -- the admin's at sign-in: a password change ends the session
  created_at    INTEGER NOT NULL,                    -- the password sign-in
  expires_at    INTEGER NOT NULL,                    -- created_at + 24 h: no refresh after it
  revoked_at    INTEGER                              -- signed out
);
CREATE UNIQUE INDEX IF NOT EXISTS admin_sessions_secret ON admin_sessions (secret_hash);
CREATE INDEX IF NOT EXISTS admin_sessions_admin ON admin_sessions (admin_id);
