// Runs `node bench/run.mjs --quick --out <tmp>` as a child and reads what it wrote; used by
// test/e2e/bench-quick.test.ts (kept here, in plain ESM, so Node's APIs stay out of the
// workerd-typed test tree).
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

export async function runQuickBench() {
  const out = mkdtempSync(join(tmpdir(), "keygate-bench-quick-"));
  try {
    const child = spawn(process.execPath, [join(root, "bench", "run.mjs"), "--quick", "--out", out], {
      cwd: root,
      env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    const code = await new Promise((done) => child.on("close", done));
    if (code !== 0) throw new Error(`bench --quick exited ${code}:\n${output}`);
    return {
      results: JSON.parse(readFileSync(join(out, "results.json"), "utf8")),
      markdown: readFileSync(join(out, "results.md"), "utf8"),
      output,
    };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
