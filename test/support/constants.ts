/** Secrets the test worker is configured with (vitest.config.ts) and the tests present. */
export const TEST_ADMIN_TOKEN = "test-admin-token-0123456789-abcdefghijkl";
export const TEST_JWT_SECRET = "test-jwt-secret-that-is-long-enough-0123456789";
export const TEST_SIGNING_SECRET = "test-origin-signing-secret";
