import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { buildAssets, STATIC_DIR } from "../../scripts/build-assets.mjs";

// Every `wrangler dev` and `wrangler deploy` of a checkout rebuilds static/ (wrangler.toml [build]),
// while other servers of the same checkout serve from it: the test suite runs several, and a user
// may deploy while `npm run dev` runs. A rebuild must never take a file away from them.

const SERVED = [join("_keygate", "console", "console.js"), join("_keygate", "console", "console.css"), join("_keygate", "docs", "swagger-ui-bundle.js")];

it("three builds at once never leave a served file missing or partly written, and a build of what is there changes nothing", async () => {
  buildAssets();
  const before = SERVED.map((file) => readFileSync(join(STATIC_DIR, file)));
  const builds = Array.from({ length: 3 }, () =>
    new Promise<number | null>((resolve) => spawn(process.execPath, ["scripts/build-assets.mjs"], { stdio: "ignore" }).on("exit", resolve)),
  );
  let running = true;
  void Promise.all(builds).then(() => (running = false));
  let reads = 0;
  while (running) {
    SERVED.forEach((file, i) => expect(readFileSync(join(STATIC_DIR, file)).equals(before[i]!), file).toBe(true));
    reads++;
    await new Promise((resolve) => setImmediate(resolve));
  }
  expect(await Promise.all(builds)).toEqual([0, 0, 0]);
  expect(reads).toBeGreaterThan(10);
});
