import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { TestProject } from "vitest/node";
// @ts-expect-error: plain ESM helper shared with the demo and the benchmarks
import { startOrigin } from "../scripts/origin.mjs";
// @ts-expect-error: plain ESM build script
import { SWAGGER_UI_FILES } from "../scripts/build-assets.mjs";

declare module "vitest" {
  export interface ProvidedContext {
    originUrl: string;
    /** SHA-256 of each Swagger UI file as the locked swagger-ui-dist has it, by file name. */
    swaggerUiHashes: Record<string, string>;
  }
}

export default async function setup(project: TestProject) {
  const origin = await startOrigin();
  project.provide("originUrl", origin.url);
  const swaggerUi = dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
  const hashes = Object.fromEntries(
    SWAGGER_UI_FILES.map((file: string) => [file, createHash("sha256").update(readFileSync(join(swaggerUi, file))).digest("hex")]),
  );
  project.provide("swaggerUiHashes", hashes);
  return () => origin.close();
}
