import { env } from "cloudflare:workers";
import schema from "../schema.sql?raw";

// The real schema.sql, applied as `wrangler d1 execute` would; it is idempotent, so every test
// file may apply it.
const statements = schema
  .split(/;\s*$/m)
  .map((s) => s.replace(/^\s*--.*$/gm, "").trim())
  .filter(Boolean);
await env.DB.batch(statements.map((sql) => env.DB.prepare(sql)));
