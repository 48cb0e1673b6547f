-- The keys that expire, by expiry: the console's overview lists those due soon without reading
-- every key. Partial: most keys never expire and take no room in it.
CREATE INDEX IF NOT EXISTS api_keys_expiring ON api_keys (expires_at) WHERE expires_at IS NOT NULL;
