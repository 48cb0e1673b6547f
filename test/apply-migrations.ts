import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";

// Each test file's D1 starts empty and gets every migration in migrations/, recorded in
// d1_migrations exactly as `wrangler d1 migrations apply` records them.
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
