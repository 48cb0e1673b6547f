// Bundles the CLI (cli/*.ts and commander) into one file that Node 22+ runs as is: the package's
// `bin`. Run by `npm install`/`npm ci` (prepare) and by `npm run keygate` with --if-stale, which
// rebuilds only when a source file is newer than the bundle.
import { build } from "esbuild";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const CLI = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(CLI);
export const BUNDLE = join(ROOT, "dist-cli", "keygate.cjs");

function newestSource(dir = CLI) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

export async function buildCli() {
  const { version } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
  const result = await build({
    entryPoints: [join(CLI, "keygate.ts")],
    bundle: true,
    platform: "node",
    // CommonJS, because commander is: its require("node:…") calls need no shim there.
    format: "cjs",
    target: "node22",
    banner: { js: "#!/usr/bin/env node" },
    define: { KEYGATE_VERSION: JSON.stringify(version) },
    write: false,
    logLevel: "warning",
  });
  // Written beside and renamed, so a `keygate` starting meanwhile never reads half a bundle.
  const scratch = `${BUNDLE}.${process.pid}.tmp`;
  mkdirSync(dirname(BUNDLE), { recursive: true });
  writeFileSync(scratch, result.outputFiles[0].contents, { mode: 0o755 });
  chmodSync(scratch, 0o755);
  renameSync(scratch, BUNDLE);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const stale = !existsSync(BUNDLE) || newestSource() > statSync(BUNDLE).mtimeMs;
  if (!process.argv.includes("--if-stale") || stale) await buildCli();
}
