// Secrets and optional settings that wrangler.toml does not declare, so `wrangler types` cannot
// see them. They arrive as bindings all the same (`wrangler secret put`, .dev.vars, --var).
interface KeygateOptionalBindings {
  ADMIN_TOKEN?: string;
  JWT_SECRET?: string;
  ORIGIN_SIGNING_SECRET?: string;
  ORIGIN_URL_TEST?: string;
  FAILED_AUTH_LIMIT?: string;
  FAILED_AUTH_WINDOW_SECONDS?: string;
  SIGNIN_LIMIT_PER_EMAIL?: string;
  SIGNIN_LIMIT_PER_IP?: string;
  SIGNIN_WINDOW_SECONDS?: string;
  DEFAULT_RATE_LIMIT?: string;
  DEFAULT_RATE_WINDOW_SECONDS?: string;
  LOG_CLIENT_IPS?: string;
  ROUTE_COSTS?: string;
  SESSION_IDLE_MINUTES?: string;
  OIDC_ISSUER?: string;
  OIDC_CLIENT_ID?: string;
  OIDC_CLIENT_SECRET?: string;
  OIDC_PROVIDER_NAME?: string;
  OIDC_ALLOWED_DOMAINS?: string;
  OIDC_DEFAULT_ROLE?: string;
  OIDC_TRUST_PROVIDER_MFA?: string;
  OAUTH_CONSENT_URL?: string;
  OAUTH_DYNAMIC_REGISTRATION?: string;
  OAUTH_ACCESS_TOKEN_TTL_SECONDS?: string;
  OAUTH_REFRESH_TOKEN_TTL_SECONDS?: string;
}
interface Env extends KeygateOptionalBindings {}
declare namespace Cloudflare {
  interface Env extends KeygateOptionalBindings {}
}
