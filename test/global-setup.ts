import type { TestProject } from "vitest/node";
// @ts-expect-error: plain ESM helper shared with the demo and the benchmarks
import { startOrigin } from "../scripts/origin.mjs";

declare module "vitest" {
  export interface ProvidedContext {
    originUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const origin = await startOrigin();
  project.provide("originUrl", origin.url);
  return () => origin.close();
}
