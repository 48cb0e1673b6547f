-- Usage a tenant can see: each key's hourly counts, forwarded by the key's Durable Object at most
-- every few seconds (never per request), and each key's last admission for key lists. Only adds
-- tables, so the previous release keeps working while this one rolls out.
CREATE TABLE tenant_usage_hourly (
  tenant_id    TEXT NOT NULL,
  hour         INTEGER NOT NULL,
  key_id       TEXT NOT NULL,
  admitted     INTEGER NOT NULL DEFAULT 0,
  rate_limited INTEGER NOT NULL DEFAULT 0,
  refused      TEXT NOT NULL DEFAULT '{}',
  PRIMARY KEY (tenant_id, hour, key_id)
);
CREATE TABLE key_last_used (
  key_id       TEXT PRIMARY KEY,
  last_used_at INTEGER NOT NULL
);
