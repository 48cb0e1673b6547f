// Builds what the `keygate` package gives a Worker project (package.json `exports`): the
// `keygate/hono` middleware as one ES module, and for it and the binding's types one declaration
// file each that names nothing but `hono` (a peer dependency). Run by `npm pack`, `npm publish` and
// a git install (prepack), never by a plain `npm install`: inside this repository `keygate/hono`
// resolves to the sources (tsconfig.json `paths`).
import { build } from "esbuild";
import { generateDtsBundle } from "dts-bundle-generator";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
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

if (process.argv[1] === fileURLToPath(import.meta.url)) await buildPackage();
