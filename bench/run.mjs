// `npm run bench [-- --quick] [-- --out DIR]`: keygate's cost, exactness and scale, measured side
// by side with a pass-through worker in one run. See bench/README.md.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { buildWorker } from "./lib/build.mjs";
import { findWorkerd } from "./lib/cpu.mjs";
import { FLUSH_WAIT_MS } from "./lib/guard-stats.mjs";
import { guard } from "./lib/watchdog.mjs";
import { makeWorkDirs } from "./lib/workdirs.mjs";
import { watchCpuOf } from "./lib/load.mjs";
import { spawnOrigin } from "./lib/origin-process.mjs";
import { againstFloors, buildRows, evaluateTargets, markdown, terminalTable } from "./lib/report.mjs";
import { RAISED_FAILED_AUTH_LIMIT, startRuntime } from "./lib/runtime.mjs";
import { exactnessScenario, largeLimitScenario } from "./scenarios/exactness.mjs";
import { coldStartScenario, quietKeysScenario } from "./scenarios/durability.mjs";
import { hotKeyScenario } from "./scenarios/hot-key.mjs";
import { revocationScenario } from "./scenarios/revocation.mjs";
import { scaleScenario } from "./scenarios/scale.mjs";
import { sharedQuotaScenario } from "./scenarios/shared-quota.mjs";
import { throughputScenarios } from "./scenarios/throughput.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    out: { type: "string" },
    "state-dir": { type: "string" },
    "keep-state": { type: "boolean", default: false },
  },
});

const FULL = {
  connections: 10,
  duration: 10,
  warmup: 3,
  rounds: 2,
  validKeys: 1_000,
  unknownKeys: 1_000,
  exactness: { keys: 100, limit: 60, requests: 20_000, connections: 200 },
  largeLimit: { limit: 20_000, requests: 20_500, connections: 10 },
  sharedQuota: { keys: 100, quota: 10_000, requests: 20_000, connections: 200 },
  revocation: { trials: 10, lanes: 8, beforeMs: 1_000, afterMs: 1_000 },
  scale: { small: 1_000, big: 1_000_000, lookups: 1_000, warmLookups: 50 },
  quiet: { keys: 50, seconds: 20 },
  cold: { keys: 200, idleMs: 15_000 },
  flushWaitMs: FLUSH_WAIT_MS,
};
// Every scenario still runs, on smaller numbers: a smoke check of about a minute and a half.
const QUICK = {
  connections: 10,
  duration: 1.5,
  warmup: 0.5,
  rounds: 1,
  validKeys: 100,
  unknownKeys: 100,
  exactness: { keys: 10, limit: 20, requests: 1_000, connections: 50 },
  // Above 4,000, the limit up to which a key's window is exact per millisecond: the buckets are checked.
  largeLimit: { limit: 5_000, requests: 5_200, connections: 10 },
  sharedQuota: { keys: 20, quota: 1_000, requests: 2_000, connections: 50 },
  revocation: { trials: 2, lanes: 4, beforeMs: 300, afterMs: 300 },
  scale: { small: 1_000, big: 10_000, lookups: 100, warmLookups: 10 },
  quiet: { keys: 10, seconds: 3 },
  cold: { keys: 20, idleMs: 12_000 },
  flushWaitMs: 1_500,
};

const settings = { quick: args.quick, ...(args.quick ? QUICK : FULL) };
const outDir = resolve(args.out ?? join(root, "bench"));
const started = Date.now();
const log = (message) => console.error(`[bench ${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s] ${message}`);

function packageVersion(name) {
  return JSON.parse(readFileSync(join(root, "node_modules", name, "package.json"), "utf8")).version;
}

const machine = {
  cores: os.cpus().length,
  cpuModel: os.cpus()[0]?.model ?? "unknown",
  node: process.versions.node,
  platform: `${os.platform()} ${os.release()}`,
  workerd: packageVersion("workerd"),
  miniflare: packageVersion("miniflare"),
  autocannon: packageVersion("autocannon"),
  loadAverageStart: os.loadavg().map((n) => Math.round(n * 100) / 100),
};

const { work, stateDir, stateParent } = makeWorkDirs(root, "bench", args["state-dir"]);
settings.stateDir = stateParent;
const workerLogs = [];
let origin;
let runtime;
let releaseWatchdog;
async function cleanUp() {
  releaseWatchdog?.();
  await runtime?.mf.dispose().catch(() => {});
  await origin?.close().catch(() => {});
  if (!args["keep-state"]) {
    rmSync(work, { recursive: true, force: true });
    rmSync(stateDir, { recursive: true, force: true });
  }
}
for (const signal of ["SIGINT", "SIGTERM"]) process.once(signal, () => cleanUp().finally(() => process.exit(130)));
try {
  log(`building the worker (wrangler deploy --dry-run) into ${work}`);
  const script = await buildWorker(root, join(work, "build"));
  origin = await spawnOrigin();
  log(`origin ${origin.url} (pid ${origin.pid}); starting workerd`);
  runtime = await startRuntime({
    root,
    script,
    originUrl: origin.url,
    stateDir,
    onLog: (entry) => workerLogs.push(entry),
  });
  const workerd = findWorkerd();
  if (workerd) releaseWatchdog = guard(workerd, args["keep-state"] ? [] : [work, stateDir]);
  watchCpuOf(workerd);
  machine.workerdCpuMeasured = workerd !== null;
  const urls = { ...runtime.urls, origin: origin.url };
  const context = { mf: runtime.mf, urls, settings, log };

  const throughput = await throughputScenarios(context);
  const hotKey = await hotKeyScenario(context);
  const quietKeys = await quietKeysScenario(context);
  const coldStart = await coldStartScenario(context);
  const exactness = await exactnessScenario(context);
  const largeLimit = await largeLimitScenario(context);
  const sharedQuota = await sharedQuotaScenario(context);
  const revocation = await revocationScenario(context);
  const scale = await scaleScenario(context);

  machine.loadAverageEnd = os.loadavg().map((n) => Math.round(n * 100) / 100);
  const results = {
    date: new Date(started).toISOString(),
    durationSeconds: Math.round((Date.now() - started) / 1000),
    machine,
    settings,
    raisedFailedAuthLimit: RAISED_FAILED_AUTH_LIMIT,
    workerErrors: workerLogs.filter((l) => l.level === "error").length,
    throughput: throughput.results,
    keyCreation: throughput.keyCreation,
    hotKey,
    quietKeys,
    coldStart,
    exactness,
    largeLimit,
    sharedQuota,
    revocation,
    scale,
  };
  results.againstFloors = againstFloors(results);
  const rows = buildRows(results);
  const targets = evaluateTargets(results);
  results.table = rows;
  results.targets = targets;

  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, "results.json"), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(outDir, "results.md"), markdown(results, rows, targets));
  console.log(terminalTable(rows, targets, results.againstFloors));
  if (results.workerErrors) {
    console.log(`\n${results.workerErrors} error(s) logged by the workers, first: ${workerLogs.find((l) => l.level === "error").message.slice(0, 500)}`);
  }
  log(`wrote ${join(outDir, "results.md")} and results.json in ${results.durationSeconds} s`);
} catch (error) {
  // A 500 from the admin API says little; what the worker logged says why.
  const errors = workerLogs.filter((l) => l.level === "error").slice(0, 5);
  for (const entry of errors) console.error(`worker error: ${entry.message.slice(0, 2_000)}`);
  throw error;
} finally {
  await cleanUp();
}
