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
  role               TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'viewer', 'verifier', 'authorizer')),
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
  revoked_at    INTEGER,                             -- signed out
  kind          TEXT NOT NULL DEFAULT 'console' CHECK (kind IN ('console', 'api')), -- api: POST /signins, no cookie
  authenticated_at INTEGER,                          -- the last sign-in or step-up; null: created_at
  last_used_at  INTEGER,                             -- recorded at most once a minute; null: created_at
  user_agent    TEXT,
  ip            TEXT,                                -- at the last recorded use; null with LOG_CLIENT_IPS=false
  methods       TEXT NOT NULL DEFAULT '["pwd"]',     -- how the admin signed in (JSON list of amr values)
  enrolment_only INTEGER NOT NULL DEFAULT 0          -- 1: may only enrol the second factor it must have
);
CREATE UNIQUE INDEX IF NOT EXISTS admin_sessions_secret ON admin_sessions (secret_hash);
CREATE INDEX IF NOT EXISTS admin_sessions_admin ON admin_sessions (admin_id);
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

-- OAuth clients: the third-party apps a tenant registered (or, with dynamic registration turned on,
-- that registered themselves: no tenant). A confidential client's secret is stored only as its
-- SHA-256. Deleting a client keeps its row (as deleted) for the audit trail and ends its grants.
CREATE TABLE IF NOT EXISTS oauth_clients (
  id                  TEXT PRIMARY KEY,              -- cli_…, the client_id
  tenant_id           TEXT REFERENCES tenants (id),  -- the tenant that registered the app; null: registered itself (RFC 7591)
  name                TEXT NOT NULL,
  type                TEXT NOT NULL CHECK (type IN ('public', 'confidential')),
  redirect_uris       TEXT NOT NULL,                 -- JSON array, matched exactly
  scopes              TEXT NOT NULL,                 -- JSON array: what the app may be granted
  rate_limit          INTEGER NOT NULL,              -- each of its grants' limit
  rate_window_seconds INTEGER NOT NULL,
  secret_hash         TEXT,                          -- hex SHA-256 of the client secret (confidential only)
  created_at          INTEGER NOT NULL,
  updated_at          INTEGER NOT NULL,
  deleted_at          INTEGER,
  -- JSON array: the grant types it registered (RFC 7591 grant_types); the token endpoint refuses any other
  grant_types         TEXT NOT NULL DEFAULT '["authorization_code","refresh_token"]'
);
CREATE INDEX IF NOT EXISTS oauth_clients_tenant ON oauth_clients (tenant_id, created_at, id);
CREATE INDEX IF NOT EXISTS oauth_clients_created ON oauth_clients (created_at, id);

-- A grant: what one user (subject) of one tenant let one app do; or, with no subject, what a
-- confidential client may do for its own tenant (client_credentials: one live grant per client).
-- Each grant has a Durable Object of its own (a KeyGuard addressed by the grant's id) that decides
-- status, scopes and limits exactly as a key's does.
CREATE TABLE IF NOT EXISTS oauth_grants (
  id                  TEXT PRIMARY KEY,              -- grt_…
  tenant_id           TEXT NOT NULL REFERENCES tenants (id),  -- whose data the app reaches
  client_id           TEXT NOT NULL REFERENCES oauth_clients (id),
  subject             TEXT,                          -- the user's id in the operator's system; null for client_credentials
  scopes              TEXT NOT NULL,                 -- JSON array: what the user approved
  rate_limit          INTEGER NOT NULL,
  rate_window_seconds INTEGER NOT NULL,
  created_at          INTEGER NOT NULL,
  updated_at          INTEGER NOT NULL,
  revoked_at          INTEGER,
  revoked_reason      TEXT                           -- revoked | token_revoked | refresh_token_reused | code_reused | client_deleted
);
CREATE INDEX IF NOT EXISTS oauth_grants_tenant ON oauth_grants (tenant_id, created_at, id);
CREATE INDEX IF NOT EXISTS oauth_grants_subject ON oauth_grants (tenant_id, subject, created_at, id);
CREATE INDEX IF NOT EXISTS oauth_grants_client ON oauth_grants (client_id, created_at, id);
CREATE INDEX IF NOT EXISTS oauth_grants_created ON oauth_grants (created_at, id);
CREATE UNIQUE INDEX IF NOT EXISTS oauth_grants_client_own ON oauth_grants (client_id) WHERE subject IS NULL AND revoked_at IS NULL;

-- Access and refresh tokens, only as SHA-256 hashes. A token's expiry never changes; everything
-- else about it is its grant's. A refresh token is exchanged once (used_at): a second exchange
-- revokes the grant. A grant's expired tokens are removed when it issues new ones (a refresh, client_credentials).
CREATE TABLE IF NOT EXISTS oauth_tokens (
  token_hash TEXT PRIMARY KEY,                       -- hex SHA-256 of kg_at_… / kg_rt_…
  kind       TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
  grant_id   TEXT NOT NULL REFERENCES oauth_grants (id),
  client_id  TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  used_at    INTEGER                                 -- a refresh token: when it was exchanged
);
CREATE INDEX IF NOT EXISTS oauth_tokens_grant ON oauth_tokens (grant_id, expires_at);

-- Each signed authorization request completes once (request_id is its id), approved with a code or
-- denied (no code). The code is bound to the client, the redirect URI and the PKCE challenge; its
-- grant's id is chosen at approval, so a code used twice can revoke what its first use issued.
-- Rows are removed 10 minutes after the code expires (when no request could be completed again),
-- except a used code whose grant is live: presented again, it still ends that grant.
CREATE TABLE IF NOT EXISTS oauth_codes (
  request_id     TEXT PRIMARY KEY,                   -- azr_…, the signed request's jti
  code_hash      TEXT,                               -- hex SHA-256 of kg_ac_…; null when the user denied
  client_id      TEXT NOT NULL,
  tenant_id      TEXT,
  subject        TEXT,
  scopes         TEXT,                               -- JSON array: what the user approved
  redirect_uri   TEXT NOT NULL,
  code_challenge TEXT NOT NULL,                      -- S256
  grant_id       TEXT,                               -- the grant its exchange creates
  expires_at     INTEGER NOT NULL,
  created_at     INTEGER NOT NULL,
  used_at        INTEGER
);
CREATE UNIQUE INDEX IF NOT EXISTS oauth_codes_hash ON oauth_codes (code_hash);
CREATE INDEX IF NOT EXISTS oauth_codes_expiry ON oauth_codes (expires_at);
