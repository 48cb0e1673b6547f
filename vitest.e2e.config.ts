import { defineConfig } from "vitest/config";

// End-to-end: Node drives a real `wrangler dev` (local D1/KV/DO) with real curl and a loopback origin.
export default defineConfig({
  test: {
    include: ["test/e2e/**/*.test.ts"],
    environment: "node",
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // Two files at a time: each drives its own wrangler dev (its own ports and state), and on a
    // 2-core machine two at once halve the suite's time without starving either.
    fileParallelism: true,
    maxWorkers: 2,
  },
});
