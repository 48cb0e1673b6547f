// `npm test`: the workerd suite (vitest plugin), then the end-to-end suite against `wrangler dev`.
import { spawnSync } from "node:child_process";

const env = { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false" };
const extra = process.argv.slice(2);
for (const config of ["vitest.config.ts", "vitest.e2e.config.ts"]) {
  // A file filter matches only one of the suites; the other must not fail for finding nothing.
  const filtered = extra.length ? ["--passWithNoTests"] : [];
  const run = spawnSync("vitest", ["run", "--config", config, ...filtered, ...extra], { stdio: "inherit", env });
  if (run.status !== 0) process.exit(run.status ?? 1);
}
