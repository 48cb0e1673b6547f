-- Paid plans: several rate windows and credits per key, a quota per tenant and environment, and
-- the cost units admissions spent in the tenant totals. Only adds nullable or defaulted columns,
-- so the previous release keeps working while this one rolls out (it reads a key's first window
-- from rate_limit and rate_window_seconds, which this release keeps writing).
ALTER TABLE api_keys ADD COLUMN rate_limits TEXT;
ALTER TABLE api_keys ADD COLUMN credits TEXT;
ALTER TABLE tenants ADD COLUMN quotas TEXT;
ALTER TABLE tenant_usage_hourly ADD COLUMN units INTEGER NOT NULL DEFAULT 0;
