// Builds `static/`, the directory wrangler serves as the worker's static assets (wrangler.toml
// [assets]): keygate's own files from `assets/`, plus Swagger UI for /_keygate/docs copied from
// node_modules, so the docs page runs on the version package-lock.json pins and loads nothing from
// another origin, and the console's client bundle (console/ → static/_keygate/console/console.js,
// by esbuild, a devDependency). wrangler runs this before `dev` and `deploy` ([build] in
// wrangler.toml); the test configs run it too. Plain Node besides esbuild: any Node the user has.
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
export const STATIC_DIR = join(ROOT, "static");
/** The Swagger UI files the docs page loads, served under /_keygate/docs/. */
export const SWAGGER_UI_FILES = ["swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"];

const swaggerUiDir = () => dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));

/**
 * Brings static/ to what it should hold without ever taking a file away from a server reading it:
 * every `wrangler dev` and `wrangler deploy` of this checkout runs this build (a test suite runs
 * several at once, and a user may deploy while `npm run dev` serves), so a file is replaced whole
 * (written beside, then renamed over) and only when its bytes change, and only files no longer
 * built are removed.
 */
export function buildAssets() {
  const files = new Map();
  for (const path of filesUnder(join(ROOT, "assets"))) files.set(relative(join(ROOT, "assets"), path), readFileSync(path));
  const swaggerUi = swaggerUiDir();
  for (const file of SWAGGER_UI_FILES) files.set(join("_keygate", "docs", file), readFileSync(join(swaggerUi, file)));
  files.set(join("_keygate", "console", "console.js"), consoleBundle());
  for (const [path, bytes] of files) replaceIfChanged(join(STATIC_DIR, path), bytes);
  // A ".tmp" is another build's file on its way in: it renames it itself.
  for (const path of filesUnder(STATIC_DIR)) if (!files.has(relative(STATIC_DIR, path)) && !path.endsWith(".tmp")) rmSync(path, { force: true });
}

/** The console's client: one minified ES module, no dependencies, next to its stylesheet. */
function consoleBundle() {
  const { buildSync } = createRequire(import.meta.url)("esbuild");
  const result = buildSync({
    entryPoints: [join(ROOT, "console", "app.ts")],
    outfile: join(STATIC_DIR, "_keygate", "console", "console.js"),
    write: false,
    bundle: true,
    minify: true,
    format: "esm",
    target: "es2022",
    legalComments: "none",
    logLevel: "warning",
  });
  return Buffer.from(result.outputFiles[0].contents);
}

function replaceIfChanged(path, bytes) {
  try {
    if (readFileSync(path).equals(bytes)) return;
  } catch {
    // not there yet
  }
  mkdirSync(dirname(path), { recursive: true });
  const beside = `${path}.${process.pid}.${Date.now()}.tmp`;
  writeFileSync(beside, bytes);
  renameSync(beside, path);
}

function filesUnder(dir) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((entry) => (entry.isDirectory() ? filesUnder(join(dir, entry.name)) : [join(dir, entry.name)]));
}

/** SHA-256 (hex) of each Swagger UI file as the locked swagger-ui-dist has it, by file name. */
export function swaggerUiHashes() {
  const swaggerUi = swaggerUiDir();
  return Object.fromEntries(
    SWAGGER_UI_FILES.map((file) => [file, createHash("sha256").update(readFileSync(join(swaggerUi, file))).digest("hex")]),
  );
}

if (import.meta.url === `file://${process.argv[1]}`) buildAssets();
