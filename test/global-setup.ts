import type { TestProject } from "vitest/node";
// @ts-expect-error: plain ESM helper shared with the demo and the benchmarks
import { startOrigin } from "../scripts/origin.mjs";
import { swaggerUiHashes } from "../scripts/build-assets.mjs";

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
  project.provide("swaggerUiHashes", swaggerUiHashes());
  return () => origin.close();
}
