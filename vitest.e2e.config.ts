import { defineConfig } from "vitest/config";

// End-to-end: Node drives a real `wrangler dev` (local D1/KV/DO) with real curl and a loopback origin.
export default defineConfig({
  test: {
    include: ["test/e2e/**/*.test.ts"],
    environment: "node",
    testTimeout: 120_000,
    hookTimeout: 180_000,
    fileParallelism: false,
  },
});
