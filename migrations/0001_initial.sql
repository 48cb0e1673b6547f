-- Migration 0001: keygate's schema as release 0.1.0 shipped it in schema.sql, statement for
-- statement. Applied with `wrangler d1 migrations apply DB --local|--remote`, which records it in
-- d1_migrations and never applies it twice.
--
-- Every statement keeps IF NOT EXISTS: a database made before migrations existed (by
-- `wrangler d1 execute DB --file schema.sql`) already holds all of this, and for it this
-- migration must change nothing but the record that it was applied.
--
-- Never edit this file: a database that applied it will not apply it again. A storage change is a
-- new, higher-numbered file (see "Contributing" in README.md).

CREATE TABLE IF NOT EXISTS tenants (
  id          TEXT PRIMARY KEY,                      -- ten_…
  name        TEXT NOT NULL,
  status      TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
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
  rotated_to          TEXT                           -- the key that replaced this one
);
CREATE UNIQUE INDEX IF NOT EXISTS api_keys_hash ON api_keys (key_hash);
CREATE INDEX IF NOT EXISTS api_keys_tenant ON api_keys (tenant_id, created_at, id);
CREATE INDEX IF NOT EXISTS api_keys_created ON api_keys (created_at, id);

-- A tenant status change still being written to its keys' Durable Objects (PATCH /tenants/:id
-- writes at most a bounded number per call; a repeated PATCH continues after after_key_id).
-- version is the tenants.updated_at the status was written with; the objects ignore older ones.
CREATE TABLE IF NOT EXISTS tenant_fanouts (
  tenant_id     TEXT PRIMARY KEY REFERENCES tenants (id),
  version       INTEGER NOT NULL,
  tenant_active INTEGER NOT NULL,                    -- 1 active, 0 suspended
  after_key_id  TEXT NOT NULL DEFAULT ''             -- keys are written in id order; '' = none yet
);

CREATE TABLE IF NOT EXISTS admins (
  id                 TEXT PRIMARY KEY,               -- adm_…
  email              TEXT NOT NULL,
  role               TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'viewer')),
  password_hash      TEXT NOT NULL,                  -- hex PBKDF2-SHA256
  password_salt      TEXT NOT NULL,                  -- hex, per user
  password_iterations INTEGER NOT NULL,
  created_at         INTEGER NOT NULL,
  updated_at         INTEGER NOT NULL,
  last_signin_at     INTEGER,                        -- also names the sign-in failure counter (see signin-throttle.ts)
  session_epoch      INTEGER NOT NULL DEFAULT 0      -- in every JWT; bumped on a password change, which ends older tokens
);
-- admins is new in this release, so session_epoch is part of its CREATE TABLE rather than an
-- ALTER TABLE (which SQLite cannot make idempotent). A database made by a pre-release build
-- needs `ALTER TABLE admins ADD COLUMN session_epoch INTEGER NOT NULL DEFAULT 0` once.
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
-- Filtered lists page by (created_at, id): the resource and request indexes end in both, so a
-- page is a range scan. Their first versions did not; IF NOT EXISTS cannot change an index, so
-- they are dropped by their old names and made again under new ones.
DROP INDEX IF EXISTS audit_events_resource;
DROP INDEX IF EXISTS audit_events_request;
CREATE INDEX IF NOT EXISTS audit_events_resource_page ON audit_events (resource_id, created_at, id);
CREATE INDEX IF NOT EXISTS audit_events_tenant ON audit_events (tenant_id, created_at, id);
CREATE INDEX IF NOT EXISTS audit_events_actor ON audit_events (actor_id, created_at, id);
CREATE INDEX IF NOT EXISTS audit_events_action ON audit_events (action, created_at, id);
CREATE INDEX IF NOT EXISTS audit_events_request_page ON audit_events (request_id, created_at, id);
