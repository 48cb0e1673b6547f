-- A change of a tenant's quota for one environment, while it is written to the keys' objects of
-- that environment (in key id order; after_key_id '' = none yet). Like tenant_fanouts, it lets a
-- repeated PATCH continue where a large tenant's last call stopped.
CREATE TABLE IF NOT EXISTS quota_fanouts (
  tenant_id    TEXT NOT NULL REFERENCES tenants (id),
  environment  TEXT NOT NULL,
  version      INTEGER NOT NULL,
  after_key_id TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (tenant_id, environment)
);
