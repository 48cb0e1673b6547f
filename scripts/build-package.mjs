// Builds what the `keygate` package gives a Worker project (package.json `exports`): the
// `keygate/hono` middleware as one ES module, and for it and the binding's types one declaration
// file each that names nothing but `hono` (a peer dependency). `npm pack` and `npm publish` always
// build (prepack); `npm install` (prepare, which is also what a git install of keygate runs) only
// when a source is newer than the build (--if-stale), a few seconds once on a fresh clone. Inside
// this repository `keygate/hono` resolves to the sources (tsconfig.json `paths`), never the build.
import { build } from "esbuild";
import { generateDtsBundle } from "dts-bundle-generator";
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
export const PACKAGE_DIR = join(ROOT, "dist-client");
/** Output name → its source: package.json `exports` points at `dist-client/<name>.{js,d.ts}`. */
const ENTRIES = { index: "src/client/index.ts", hono: "src/client/hono.ts" };

export async function buildPackage() {
  rmSync(PACKAGE_DIR, { recursive: true, force: true });
  mkdirSync(PACKAGE_DIR, { recursive: true });
  await build({
    entryPoints: Object.fromEntries(Object.entries(ENTRIES).map(([name, source]) => [name, join(ROOT, source)])),
    outdir: PACKAGE_DIR,
    bundle: true,
    // Workers and any bundler: ES modules, no Node built-ins.
    platform: "neutral",
    format: "esm",
    target: "es2022",
    external: ["hono", "hono/*"],
    // Readable, not minified: the consumer's own bundler minifies.
    legalComments: "none",
    logLevel: "warning",
  });
  const declarations = generateDtsBundle(
    Object.values(ENTRIES).map((source) => ({
      filePath: join(ROOT, source),
      // Only what the entry exports, the types it mentions inlined; `hono` stays an import.
      output: { noBanner: true, exportReferencedTypes: false },
      libraries: { importedLibraries: ["hono"] },
    })),
    { preferredConfigPath: join(ROOT, "tsconfig.package.json") },
  );
  Object.keys(ENTRIES).forEach((name, i) => writeFileSync(join(PACKAGE_DIR, `${name}.d.ts`), declarations[i]));
}

/** Whether a source, or a setting the build reads, changed since the last build. */
function stale() {
  const built = join(PACKAGE_DIR, "hono.d.ts");
  if (!existsSync(built)) return true;
  const inputs = [
    ...readdirSync(join(ROOT, "src"), { recursive: true }).map((file) => join(ROOT, "src", file)),
    ...["package.json", "tsconfig.json", "tsconfig.package.json", "scripts/build-package.mjs"].map((file) => join(ROOT, file)),
  ];
  const builtAt = statSync(built).mtimeMs;
  return inputs.some((file) => statSync(file).mtimeMs > builtAt);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (!process.argv.includes("--if-stale") || stale()) await buildPackage();
}
