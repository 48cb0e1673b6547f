// `npm run bench:compare -- DIR [DIR ...] [--seconds 20] [--rounds 4] [--keys 1000]`
// A/B of keygate builds: each DIR is a checkout (e.g. a `git worktree` of another commit, or a copy
// with one change), built as deployed and run beside the pass-through and the floor (floor-row) in
// one workerd, all taking turns under scenario 3's load (valid keys round-robin, 10 connections).
// Prints req/s and workerd CPU per request of each, and each against the floor. Whole-run CPU on a
// shared machine moves by ±10% between identical builds: compare a build against itself first.
import { rmSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createKeys, createTenant } from "./lib/admin.mjs";
import { buildWorker } from "./lib/build.mjs";
import { findWorkerd } from "./lib/cpu.mjs";
import { interleave, rotatingKeys, watchCpuOf } from "./lib/load.mjs";
import { spawnOrigin } from "./lib/origin-process.mjs";
import { startComparison, UNREACHABLE } from "./lib/runtime.mjs";
import { guard } from "./lib/watchdog.mjs";
import { makeWorkDirs } from "./lib/workdirs.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { values: args, positionals: dirs } = parseArgs({
  allowPositionals: true,
  options: {
    seconds: { type: "string", default: "20" },
    rounds: { type: "string", default: "4" },
    keys: { type: "string", default: "1000" },
    connections: { type: "string", default: "10" },
  },
});
if (dirs.length === 0) throw new Error("usage: npm run bench:compare -- DIR [DIR ...] (checkouts of keygate to compare)");
const keyCount = Number(args.keys);
const connections = Number(args.connections);

const { work, stateDir } = makeWorkDirs(root, "compare");
const origin = await spawnOrigin();
let runtime;
let release;
try {
  const builds = [];
  for (const [i, dir] of dirs.entries()) {
    const buildRoot = resolve(dir);
    builds.push({ name: `build-${i}`, label: `${basename(buildRoot)} (${i})`, root: buildRoot, script: await buildWorker(buildRoot, join(work, `build-${i}`)) });
  }
  runtime = await startComparison({ root, builds, originUrl: origin.url, stateDir });
  const workerd = findWorkerd();
  release = guard(workerd, [work, stateDir]);
  watchCpuOf(workerd);

  const floorKeys = Array.from({ length: keyCount }, (_, i) => `floor-key-${i}`);
  const targets = [
    { label: "pass-through", url: `${runtime.urls.pass}/__origin/static`, connections },
    { label: "floor-row", url: `${runtime.urls["floor-row"]}/__origin/static`, connections, keyCount, requests: rotatingKeys(floorKeys) },
  ];
  for (const build of builds) {
    const base = runtime.urls[build.name];
    const tenant = await createTenant(base, "compare");
    const keys = await createKeys(base, tenant.id, keyCount, UNREACHABLE.limit, UNREACHABLE.windowSeconds);
    targets.push({ label: build.label, url: `${base}/__origin/static`, connections, keyCount, requests: rotatingKeys(keys.map((k) => k.key)) });
  }

  const results = await interleave(targets, { duration: Number(args.seconds), warmup: 2, rounds: Number(args.rounds) });
  const floor = results[1];
  console.log(`${keyCount} keys round-robin, ${connections} connections, ${args.rounds} turns of ${Number(args.seconds) / Number(args.rounds)} s each\n`);
  console.log("| worker | req/s | workerd CPU ms/req | p50 ms | req/s vs floor | CPU vs floor | statuses |");
  console.log("|---|---:|---:|---:|---:|---:|---|");
  results.forEach((r, i) => {
    const ratio = (a, b) => (a && b ? `${(a / b).toFixed(2)}×` : "–");
    console.log(`| ${targets[i].label} | ${r.rps} | ${r.workerdCpuMs} | ${r.p50} | ${ratio(r.rps, floor.rps)} | ${ratio(r.workerdCpuMs, floor.workerdCpuMs)} | ${JSON.stringify(r.statuses)} |`);
  });
} finally {
  release?.();
  await runtime?.mf.dispose().catch(() => {});
  await origin.close().catch(() => {});
  rmSync(stateDir, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
}
