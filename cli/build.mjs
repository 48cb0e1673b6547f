// Bundles the CLI (cli/*.ts, the vocabulary it shares with the API from src/authority/, and
// commander) into one file that Node 22+ runs as is: the package's `bin`. Run by `npm install`/
// `npm ci` (prepare) and by `npm run keygate` with --if-stale, which rebuilds only when a file the
// last bundle was built from (as esbuild listed them) is newer than the bundle.
import { build } from "esbuild";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const CLI = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(CLI);
export const BUNDLE = join(ROOT, "dist-cli", "keygate.cjs");
/** The files the bundle was built from, relative to the repository. */
const INPUTS = join(ROOT, "dist-cli", "inputs.json");

function isStale() {
  if (!existsSync(BUNDLE) || !existsSync(INPUTS)) return true;
  const built = statSync(BUNDLE).mtimeMs;
  const sources = [...JSON.parse(readFileSync(INPUTS, "utf8")), "package.json"];
  return sources.some((path) => !existsSync(join(ROOT, path)) || statSync(join(ROOT, path)).mtimeMs > built);
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
    metafile: true,
    absWorkingDir: ROOT,
    logLevel: "warning",
  });
  // Written beside and renamed, so a `keygate` starting meanwhile never reads half a bundle.
  const scratch = `${BUNDLE}.${process.pid}.tmp`;
  mkdirSync(dirname(BUNDLE), { recursive: true });
  writeFileSync(scratch, result.outputFiles[0].contents, { mode: 0o755 });
  chmodSync(scratch, 0o755);
  renameSync(scratch, BUNDLE);
  writeFileSync(INPUTS, `${JSON.stringify(Object.keys(result.metafile.inputs))}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (!process.argv.includes("--if-stale") || isStale()) await buildCli();
}
