-- The grant types each OAuth client registered (RFC 7591 grant_types), which the token endpoint
-- now honours: it refuses any other, and issues a refresh token only to a client registered for
-- refresh_token. A client made before this registered none, and keeps every grant type it could
-- use: the code flow with refresh tokens, and client_credentials for a confidential client of a tenant.
ALTER TABLE oauth_clients ADD COLUMN grant_types TEXT NOT NULL DEFAULT '["authorization_code","refresh_token"]';
UPDATE oauth_clients SET grant_types = '["authorization_code","refresh_token","client_credentials"]'
  WHERE type = 'confidential' AND tenant_id IS NOT NULL;
