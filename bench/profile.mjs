// `node bench/profile.mjs [valid|rate-limited|unknown|malformed|pass|floor|hardened] [--seconds 8] [--connections 10]`
// A V8 CPU profile of the keygate isolate (or the pass-through one, or with "floor" the floor-row
// worker and with "hardened" the floor-hardened one under valid's load, to compare against) under one scenario's load, taken through workerd's
// inspector. Prints where the time goes, as shares and as µs per response, and writes a .cpuprofile
// that Chrome DevTools (Performance panel) opens. Durable Object code runs in the same isolate, so
// it shows too.
import { rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createKey, createKeys, createTenant } from "./lib/admin.mjs";
import { buildWorker } from "./lib/build.mjs";
import { findWorkerd } from "./lib/cpu.mjs";
import { connect, inspectorUrl, summarize } from "./lib/inspector.mjs";
import { generateKey } from "./lib/keys.mjs";
import { measureLoad, rotatingKeys, watchCpuOf } from "./lib/load.mjs";
import { spawnOrigin } from "./lib/origin-process.mjs";
import { startRuntime } from "./lib/runtime.mjs";
import { guard } from "./lib/watchdog.mjs";
import { makeWorkDirs } from "./lib/workdirs.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: { seconds: { type: "string", default: "8" }, connections: { type: "string", default: "10" }, out: { type: "string" } },
});
const scenario = positionals[0] ?? "valid";
const SCENARIOS = ["valid", "rate-limited", "unknown", "malformed", "pass", "floor", "hardened"];
if (!SCENARIOS.includes(scenario)) throw new Error(`scenario must be one of ${SCENARIOS.join(", ")}`);
const seconds = Number(args.seconds);
const connections = Number(args.connections);

const { work, stateDir } = makeWorkDirs(root, "profile");
const origin = await spawnOrigin();
let runtime;
let release;
try {
  const script = await buildWorker(root, join(work, "build"));
  runtime = await startRuntime({ root, script, originUrl: origin.url, stateDir, inspect: true, onLog: () => {} });
  const workerd = findWorkerd();
  release = guard(workerd, [work, stateDir]);
  watchCpuOf(workerd);
  const { keygate, pass } = runtime.urls;
  // The worker whose isolate is profiled, by its name in the runtime.
  const profiled = { pass: "pass", floor: "floor-row", hardened: "floor-hardened" }[scenario] ?? "keygate";
  const url = `${runtime.urls[profiled]}/__origin/static`;

  const tenant = await createTenant(keygate, "profile");
  let target;
  if (scenario === "valid") {
    const keys = await createKeys(keygate, tenant.id, 100, 1_000_000, 86_400);
    target = { url, connections, requests: rotatingKeys(keys.map((k) => k.key)) };
  } else if (scenario === "floor" || scenario === "hardened") {
    const keys = Array.from({ length: 100 }, (_, i) => `floor-key-${i}`);
    target = { url, connections, requests: rotatingKeys(keys) };
  } else if (scenario === "rate-limited") {
    const key = await createKey(keygate, tenant.id, 1, 86_400);
    await fetch(url, { headers: { "x-api-key": key.key } }).then((r) => r.arrayBuffer());
    target = { url, connections, headers: { "x-api-key": key.key } };
  } else if (scenario === "unknown") {
    const keys = Array.from({ length: 100 }, () => generateKey("kg", "live"));
    target = { url, connections, requests: rotatingKeys(keys, Array.from({ length: 250 }, (_, i) => `198.51.100.${i + 1}`)) };
  } else if (scenario === "malformed") {
    target = { url, connections, headers: { "x-api-key": `${generateKey("kg", "live").slice(0, -6)}000000` } };
  } else {
    target = { url, connections };
  }

  await measureLoad(target, { duration: 2 }); // warm-up, unprofiled
  const session = await connect(await inspectorUrl(workerd, profiled));
  await session.send("Profiler.enable");
  await session.send("Profiler.setSamplingInterval", { interval: 100 });
  await session.send("Profiler.start");
  const load = await measureLoad(target, { duration: seconds });
  const { profile } = await session.send("Profiler.stop");
  session.close();

  const file = resolve(args.out ?? join(root, "bench", ".tmp", `${scenario}-${new Date().toISOString().replace(/[:.]/g, "-")}.cpuprofile`));
  writeFileSync(file, JSON.stringify(profile));
  const { spanMs, self, inclusive } = summarize(profile);
  console.log(`${scenario}: ${load.rps} req/s, p50 ${load.p50} ms, workerd CPU ${load.workerdCpuMs} ms/req (while profiling), statuses ${JSON.stringify(load.statuses)}`);
  console.log(`profile of ${Math.round(spanMs)} ms; shares of wall time in the isolate ("(idle)": waiting for I/O or other processes),`);
  console.log(`and the same as µs per response (comparable across scenarios and workers)\n`);
  const perResponse = (share) => ((share / 100) * spanMs * 1000) / load.responses;
  const line = ({ share, fn }) => console.log(`${share.toFixed(1).padStart(6)}%  ${perResponse(share).toFixed(1).padStart(7)} µs  ${fn}`);
  console.log("self time");
  self.forEach(line);
  console.log("\ninclusive time");
  inclusive.forEach(line);
  console.log(`\nwrote ${file}`);
} finally {
  release?.();
  await runtime?.mf.dispose().catch(() => {});
  await origin.close().catch(() => {});
  rmSync(stateDir, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
}
