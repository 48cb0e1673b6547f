// Builds `static/`, the directory wrangler serves as the worker's static assets (wrangler.toml
// [assets]): keygate's own files from `assets/`, plus Swagger UI for /_keygate/docs copied from
// node_modules, so the docs page runs on the version package-lock.json pins and loads nothing from
// another origin, and the console's client bundle (console/ → static/_keygate/console/console.js,
// by esbuild, a devDependency). wrangler runs this before `dev` and `deploy` ([build] in
// wrangler.toml); the test configs run it too. Plain Node besides esbuild: any Node the user has.
import { createHash } from "node:crypto";
import { cpSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
export const STATIC_DIR = join(ROOT, "static");
/** The Swagger UI files the docs page loads, served under /_keygate/docs/. */
export const SWAGGER_UI_FILES = ["swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"];

const swaggerUiDir = () => dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));

export function buildAssets() {
  const swaggerUi = swaggerUiDir();
  rmSync(STATIC_DIR, { recursive: true, force: true });
  cpSync(join(ROOT, "assets"), STATIC_DIR, { recursive: true });
  const docs = join(STATIC_DIR, "_keygate", "docs");
  mkdirSync(docs, { recursive: true });
  for (const file of SWAGGER_UI_FILES) cpSync(join(swaggerUi, file), join(docs, file));
  buildConsole();
}

/** The console's client: one minified ES module, no dependencies, next to its stylesheet. */
function buildConsole() {
  const { buildSync } = createRequire(import.meta.url)("esbuild");
  buildSync({
    entryPoints: [join(ROOT, "console", "app.ts")],
    outfile: join(STATIC_DIR, "_keygate", "console", "console.js"),
    bundle: true,
    minify: true,
    format: "esm",
    target: "es2022",
    legalComments: "none",
    logLevel: "warning",
  });
}

/** SHA-256 (hex) of each Swagger UI file as the locked swagger-ui-dist has it, by file name. */
export function swaggerUiHashes() {
  const swaggerUi = swaggerUiDir();
  return Object.fromEntries(
    SWAGGER_UI_FILES.map((file) => [file, createHash("sha256").update(readFileSync(join(swaggerUi, file))).digest("hex")]),
  );
}

if (import.meta.url === `file://${process.argv[1]}`) buildAssets();
