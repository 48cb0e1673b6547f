// Builds the worker exactly as `wrangler deploy` would upload it (one bundled index.js).
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

export async function buildWorker(root, outdir) {
  // Run wrangler on the Node that runs the bench (the repo's pinned one), whatever PATH says.
  const wrangler = join(root, "node_modules", "wrangler", "bin", "wrangler.js");
  const env = { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false", NO_UPDATE_NOTIFIER: "1" };
  const child = spawn(process.execPath, [wrangler, "deploy", "--dry-run", "--outdir", outdir], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (chunk) => (output += chunk));
  child.stderr.on("data", (chunk) => (output += chunk));
  const code = await new Promise((resolve) => child.on("close", resolve));
  const script = join(outdir, "index.js");
  if (code !== 0 || !existsSync(script)) throw new Error(`wrangler deploy --dry-run failed (exit ${code}):\n${output}`);
  return script;
}
