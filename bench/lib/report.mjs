// One table (and the targets under it), as Markdown for people and JSON for tools.
const fmt = (n, digits = 0) =>
  n === null || n === undefined ? "–" : Number(n).toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
const ms = (n) => fmt(n, 2);
const ratio = (a, b) => (a && b ? Math.round((a / b) * 100) / 100 : null);
const round = (n, digits) => (Number.isFinite(n) ? Math.round(n * 10 ** digits) / 10 ** digits : null);
/** A ratio as "0.60×" ("0.60x" for terminals that mangle ×), or "–" where it could not be taken. */
const times = (n, sign = "×") => (n === null || n === undefined ? "–" : `${n.toFixed(2)}${sign}`);

function statusNote(r) {
  if (r.asExpected) return "";
  const seen = Object.entries(r.statuses ?? {}).map(([s, n]) => `${n}×${s}`).join(", ");
  return ` **unexpected responses: ${seen}${r.errors ? `, ${r.errors} socket errors` : ""}**`;
}

/** Rows per request to two decimals (four below 0.01), or "–" where the objects cannot say. */
const perRequest = (w) => (w.perRequest === null ? "–" : fmt(w.perRequest, w.perRequest !== 0 && w.perRequest < 0.01 ? 4 : 2));
const rowsNote = (w, what) =>
  w.rows === null
    ? "rows written: not measured (KeyGuard has no storageStats())"
    : `rows written: ${fmt(w.rows)} for ${fmt(w.requests)} ${what} = ${perRequest(w)} per ${what.replace(/s$/, "")}${w.restartedObjects ? ` (at least: ${w.restartedObjects} objects restarted)` : ""}`;

/**
 * keygate (scenario 3) against the pass-through and each floor worker, measured taking turns:
 * keygate's req/s and workerd CPU per request divided by the worker's, at N connections and at 1,
 * and each worker's p50 added to the pass-through's at 1 connection.
 */
export function againstFloors(results) {
  const t = results.throughput;
  const added = (r) => round(r.p50 - t.passThrough1.p50, 3);
  const against = (worker, r, r1) => ({
    worker,
    rpsRatio: ratio(t.valid.rps, r.rps),
    cpuRatio: ratio(t.valid.workerdCpuMs, r.workerdCpuMs),
    rpsRatio1: ratio(t.valid1.rps, r1.rps),
    cpuRatio1: ratio(t.valid1.workerdCpuMs, r1.workerdCpuMs),
    addedP50: added(r1),
  });
  return {
    keygateAddedP50: added(t.valid1),
    workers: [
      against("pass-through", t.passThrough, t.passThrough1),
      against("floor-rpc", t.floorRpc, t.floorRpc1),
      against("floor-row", t.floorRow, t.floorRow1),
      against("floor-hardened", t.floorHardened, t.floorHardened1),
    ],
  };
}

export function buildRows(results) {
  const t = results.throughput;
  const rows = [];
  const load = (id, name, r, base, note) =>
    rows.push({ id, name, rps: r.rps, p50: r.p50, p99: r.p99, ratio: base ? ratio(r.rps, base.rps) : null, cpu: r.workerdCpuMs, note: note + statusNote(r) });
  const c = t.passThrough.connections;
  const floors = againstFloors(results).workers;
  const keygateAgainst = (which) =>
    floors
      .filter((f) => f.worker !== "pass-through")
      .map((f) => `vs ${f.worker}: ${times(f[`rpsRatio${which}`])} req/s, ${times(f[`cpuRatio${which}`])} CPU/req`)
      .join("; ");
  const addedP50 = (r) => `added p50: ${ms(r.p50 - t.passThrough1.p50)} ms`;
  const keys = `${fmt(results.settings.validKeys)} keys round-robin`;
  load("1", `Origin direct (${c} conn.)`, t.origin, t.passThrough, "no worker at all: Node http server on loopback");
  load("2", `Pass-through worker (${c} conn.)`, t.passThrough, t.passThrough, "same workerd, only `fetch(ORIGIN_URL + path, request)`");
  load("2a", `Floor-rpc worker (${c} conn.)`, t.floorRpc, t.passThrough, `pass-through + one RPC to the key's Durable Object (no storage); ${keys}`);
  load("2b", `Floor-row worker, "the floor" (${c} conn.)`, t.floorRow, t.passThrough, `floor-rpc + the RPC inserts one SQLite row and trims the window; ${keys}`);
  load(
    "2c",
    `Floor-hardened worker (${c} conn.)`,
    t.floorHardened,
    t.passThrough,
    `floor-row + keygate's features written plainly: SHA-256 of the key, forgeable headers stripped, HMAC identity, origin timeout, rate-limit headers, the row carrying the usage event; ${keys}`,
  );
  load("3", `keygate, valid keys, warm (${c} conn.)`, t.valid, t.passThrough, `${keys}, nothing rate-limited; ${keygateAgainst("")}`);
  load("2·1", "Pass-through worker (1 conn.)", t.passThrough1, t.passThrough1, "");
  load("2a·1", "Floor-rpc worker (1 conn.)", t.floorRpc1, t.passThrough1, addedP50(t.floorRpc1));
  load("2b·1", "Floor-row worker (1 conn.)", t.floorRow1, t.passThrough1, addedP50(t.floorRow1));
  load("2c·1", "Floor-hardened worker (1 conn.)", t.floorHardened1, t.passThrough1, addedP50(t.floorHardened1));
  load("3·1", "keygate, valid keys, warm (1 conn.)", t.valid1, t.passThrough1, `${addedP50(t.valid1)}; ${keygateAgainst("1")}`);
  // Rejection paths took turns with a pass-through of their own: their ratio is against it.
  const turnsWith = (r) => `vs the pass-through it took turns with (${fmt(r.passThrough.rps)} req/s, ${r.passThrough.workerdCpuMs} ms CPU/req)`;
  load("4", `keygate, one key at its limit → 429 (${c} conn.)`, t.rateLimited, t.rateLimited.passThrough, `asks the key's Durable Object, no origin call; ${rowsNote(t.rateLimitedRowsWritten, "refusals")}; ${turnsWith(t.rateLimited)}`);
  load("5a", `keygate, malformed key → 401 (${c} conn.)`, t.malformed, t.malformed.passThrough, `checksum fails: zero I/O; ${turnsWith(t.malformed)}`);
  load(
    "5b",
    `keygate, unknown well-formed keys → 401 (${c} conn.)`,
    t.unknown,
    t.unknown.passThrough,
    `${fmt(results.settings.unknownKeys)} keys, isolate negative cache; FAILED_AUTH_LIMIT raised to ${fmt(results.raisedFailedAuthLimit)} so each request also counts one failure in the IP's object; ${turnsWith(t.unknown)}`,
  );
  load("5c", `keygate, unknown keys from a blocked IP → 429 (${c} conn.)`, t.blockedIp, t.blockedIp.passThrough, `default FAILED_AUTH_LIMIT (30/min): after 30 failures the isolate refuses the IP with zero I/O; ${turnsWith(t.blockedIp)}`);

  // What the keys' objects keep for their windows after the burst (a row per admitted ms, or per bucket).
  const stored = (e) => `; rows stored for the window${e.keys > 1 ? "s" : ""}: ${fmt(e.storedRows)}`;
  const x = results.exactness;
  rows.push({
    id: "6",
    name: `Exactness: ${x.keys} keys × limit ${x.limit}, ${fmt(x.requests)} requests (${x.connections} conn.)`,
    rps: x.rps,
    p50: x.p50,
    p99: x.p99,
    ratio: null,
    cpu: x.workerdCpuMs,
    note: `admitted at origin ${fmt(x.admittedAtOrigin)} (expected ${fmt(x.expected)}); over ${x.overAdmitted}, under ${x.underAdmitted}; 200s ${fmt(x.admittedResponses)}, 429s ${fmt(x.refusedResponses)}${stored(x)}`,
  });
  const v = results.revocation;
  rows.push({
    id: "7",
    name: `Revocation lag: ${v.trials} revokes under ${v.lanes} streams`,
    rps: v.rps,
    p50: v.p50,
    p99: v.p99,
    ratio: null,
    note: `admitted after the revoke returned: ${v.admittedAfter} of ${fmt(v.sentAfter)} sent after (${fmt(v.refusedAfter)} got 401 revoked_key); origin agrees: ${v.originAgrees ? "yes" : "NO"}`,
  });
  const s = results.scale;
  const lookup = (id, label, phase, base, extra) =>
    rows.push({ id, name: `Cold lookup, ${fmt(phase.keys)} keys in D1, ${label}`, rps: null, p50: phase[extra].p50, p99: phase[extra].p99, ratio: base ? ratio(phase[extra].p50, base[extra].p50) : null, note: (base ? "ratio: p50 against the same at 1,000 keys. " : "") + (extra === "found" ? "first request with the key: D1 hit, then the key's object starts" : "never-seen key: D1 miss, then one failure counted") + statusNote(phase[extra]) });
  lookup("8a", "key exists", s.small, null, "found");
  lookup("8b", "key exists", s.big, s.small, "found");
  lookup("8c", "no such key", s.small, null, "missing");
  lookup("8d", "no such key", s.big, s.small, "missing");
  const l = results.largeLimit;
  rows.push({
    id: "9",
    name: `Large-limit exactness: 1 key × limit ${fmt(l.limit)}, ${fmt(l.requests)} requests (${l.connections} conn.)`,
    rps: l.rps,
    p50: l.p50,
    p99: l.p99,
    ratio: null,
    cpu: l.workerdCpuMs,
    note: `admitted at origin ${fmt(l.admittedAtOrigin)} (expected ${fmt(l.expected)}); 200s ${fmt(l.admittedResponses)}, 429s ${fmt(l.refusedResponses)}${stored(l)}`,
  });
  const h = results.hotKey;
  load(
    "10",
    `keygate, one hot key, limit out of reach (${h.connections} conn.)`,
    h,
    t.passThrough,
    `one Durable Object serves every request; vs scenario 3: ${times(ratio(h.rps, t.valid.rps))} req/s, ${times(ratio(h.workerdCpuMs, t.valid.workerdCpuMs))} CPU/req; ${rowsNote(h.rowsWritten, "admitted requests")}`,
  );
  const q = results.quietKeys;
  rows.push({
    id: "11",
    name: `Quiet keys: ${q.keys} keys, each about once a second for ${q.seconds} s`,
    rps: null,
    p50: null,
    p99: null,
    ratio: null,
    note: `${rowsNote(q.rowsWritten, "admitted requests")}${q.asExpected ? "" : ` **unexpected responses: ${JSON.stringify(q.statuses)}**`}`,
  });
  const cs = results.coldStart;
  const cold = (id, name, r, note) => rows.push({ id, name, rps: null, p50: r.p50, p99: r.p99, ratio: null, cpu: r.workerdCpuMs, note: note + (r.asExpected ? "" : ` **unexpected responses: ${JSON.stringify(r.statuses)}**`) });
  cold("12a", `keygate, first request after its object was evicted (${cs.keys} keys, 1 conn.)`, cs.keygate, `idle ${cs.idleMs / 1_000} s first; warm, the same keys: p50 ${ms(cs.keygateWarm.p50)} ms, ${fmt(cs.keygateWarm.workerdCpuMs, 3)} ms CPU/req`);
  cold("12b", `Floor-hardened, first request after its object was evicted (${cs.keys} keys, 1 conn.)`, cs.floor, `warm: p50 ${ms(cs.floorWarm.p50)} ms, ${fmt(cs.floorWarm.workerdCpuMs, 3)} ms CPU/req`);
  const sq = results.sharedQuota;
  load(
    "13a",
    `keygate, ${sq.keys} keys sharing a quota (${c} conn.)`,
    sq.throughput.withQuota,
    t.passThrough,
    `a quota out of reach, taking turns with ${sq.keys} keys without one (${fmt(sq.throughput.withoutQuota.rps)} req/s): ${times(sq.throughput.rpsRatio)} req/s; `
      + `vs scenario 3: ${times(ratio(sq.throughput.withQuota.rps, t.valid.rps))}; quota-object calls: ${fmt(sq.throughput.quotaCalls.acquire)} leases asked, `
      + `${fmt(sq.throughput.quotaCalls.release)} given back, for ${fmt(sq.throughput.admitted)} admissions = ${fmt(sq.throughput.callsPerAdmission, 4)} per admission`,
  );
  const sx = sq.exactness;
  rows.push({
    id: "13b",
    name: `Shared-quota exactness: ${sq.keys} keys, quota ${fmt(sx.quota)}, ${fmt(sx.requests)} requests (${sx.connections} conn.)`,
    rps: sx.rps,
    p50: sx.p50,
    p99: sx.p99,
    ratio: null,
    cpu: sx.workerdCpuMs,
    note: `admitted at origin ${fmt(sx.admittedAtOrigin)} of the quota's ${fmt(sx.quota)}: over ${sx.overAdmitted}, under ${sx.underAdmitted} (bound: ${sx.bound}, one request per key); 200s ${fmt(sx.admittedResponses)}, 429s ${fmt(sx.refusedResponses)}`,
  });
  return rows;
}

export function evaluateTargets(results) {
  const t = results.throughput;
  const added = t.valid1.p50 - t.passThrough1.p50;
  const hardenedAdded = t.floorHardened1.p50 - t.passThrough1.p50;
  const rejection = ["malformed", "unknown", "rateLimited"].map((k) => ({ k, r: ratio(t[k].rps, t[k].passThrough.rps) }));
  const admittedRows = t.validRowsWritten;
  const refusalRows = t.rateLimitedRowsWritten;
  const quietRows = results.quietKeys.rowsWritten;
  const hotRows = results.hotKey.rowsWritten;
  const cs = results.coldStart;
  const x = results.exactness;
  const l = results.largeLimit;
  const v = results.revocation;
  const s = results.scale;
  const rowsTarget = (label, w, bound) => ({
    target: `Rows written per admission, ${label} ≤ ${bound}`,
    measured: w.rows === null ? "not measured" : `${perRequest(w)} (${fmt(w.rows)} rows for ${fmt(w.requests)}; alarms set apart: ${fmt(w.alarms)})`,
    pass: w.perRequest !== null && w.perRequest <= bound,
  });
  return [
    {
      target: "Valid keys: req/s ≥ 0.9× the hardened floor",
      measured: times(ratio(t.valid.rps, t.floorHardened.rps)),
      pass: t.valid.rps >= 0.9 * t.floorHardened.rps,
    },
    {
      target: "Valid keys: workerd CPU/req ≤ 1.15× the hardened floor's",
      measured: times(ratio(t.valid.workerdCpuMs, t.floorHardened.workerdCpuMs)),
      pass: t.valid.workerdCpuMs !== null && t.floorHardened.workerdCpuMs !== null && t.valid.workerdCpuMs <= 1.15 * t.floorHardened.workerdCpuMs,
    },
    {
      target: "p50 added at 1 connection ≤ the hardened floor's added p50 + 0.1 ms",
      measured: `${ms(added)} ms (the hardened floor: ${ms(hardenedAdded)} ms)`,
      pass: added <= hardenedAdded + 0.1,
    },
    {
      target: "A key whose object starts cold: p50 ≤ 1.5× the hardened floor's cold start",
      measured: `${times(ratio(cs.keygate.p50, cs.floor.p50))} (${ms(cs.keygate.p50)} vs ${ms(cs.floor.p50)} ms; CPU ${times(ratio(cs.keygate.workerdCpuMs, cs.floor.workerdCpuMs))})`,
      pass: cs.keygate.p50 <= 1.5 * cs.floor.p50,
    },
    {
      target: "Rejection paths (malformed, unknown, 429) ≥ pass-through throughput (each taking turns with it)",
      measured: rejection.map(({ k, r }) => `${k} ${r}×`).join(", "),
      pass: rejection.every(({ r }) => r >= 1),
    },
    rowsTarget("1,000 keys round-robin (scenario 3)", admittedRows, 1),
    rowsTarget("quiet keys, about once a second each (scenario 11)", quietRows, 1),
    rowsTarget("one hot key, far beyond 50 req/s (scenario 10)", hotRows, 0.05),
    {
      // A refusal writes nothing of its own: the key's usage is written at most once a second
      // however many refusals it counts.
      target: "Rows written per refusal (scenario 4): none of its own, only the key's usage (≤ 1 row per second)",
      measured: refusalRows.rows === null ? "not measured" : `${fmt(refusalRows.rows)} rows for ${fmt(refusalRows.requests)} refusals`,
      pass: refusalRows.rows !== null && refusalRows.rows <= Math.ceil(results.settings.duration / results.settings.rounds) + 2,
    },
    { target: "Exactness: zero over- or under-admission", measured: `over ${x.overAdmitted}, under ${x.underAdmitted}`, pass: x.exact },
    {
      target: `Large-limit exactness: exactly ${fmt(l.limit)} admitted`,
      measured: `${fmt(l.admittedAtOrigin)} at origin, ${fmt(l.refusedResponses)} refused`,
      pass: l.exact,
    },
    {
      target: "Shared quota: req/s ≥ 0.9× keygate without a quota (taking turns)",
      measured: `${times(results.sharedQuota.throughput.rpsRatio)} (vs scenario 3: ${times(ratio(results.sharedQuota.throughput.withQuota.rps, t.valid.rps))})`,
      pass: results.sharedQuota.throughput.rpsRatio !== null && results.sharedQuota.throughput.rpsRatio >= 0.9,
    },
    {
      target: "Shared quota: quota-object calls ≤ 0.05 per admission",
      measured: fmt(results.sharedQuota.throughput.callsPerAdmission, 4),
      pass: results.sharedQuota.throughput.callsPerAdmission !== null && results.sharedQuota.throughput.callsPerAdmission <= 0.05,
    },
    {
      target: "Shared quota: never over, under by at most one request per key",
      measured: `over ${results.sharedQuota.exactness.overAdmitted}, under ${results.sharedQuota.exactness.underAdmitted} (bound ${results.sharedQuota.exactness.bound})`,
      pass: results.sharedQuota.exactness.overAdmitted === 0 && results.sharedQuota.exactness.underAdmitted <= results.sharedQuota.exactness.bound,
    },
    { target: "Revocation lag: zero requests", measured: `${v.admittedAfter} admitted after revoke`, pass: v.admittedAfter === 0 && v.originAgrees },
    {
      target: `Cold lookup p50 at ${fmt(s.big.keys)} keys within 1.5× of ${fmt(s.small.keys)} keys`,
      measured: `${s.foundRatio}× (no such key: ${s.missingRatio}×)`,
      pass: s.foundRatio !== null && s.foundRatio <= 1.5,
    },
  ];
}

function floorsMarkdown({ keygateAddedP50, workers }) {
  return [
    `keygate (scenario 3) against each worker it took turns with: keygate's figure divided by the worker's. keygate's added p50 at 1 connection: ${ms(keygateAddedP50)} ms.`,
    "",
    "| keygate against | req/s ratio | CPU/req ratio | req/s ratio, 1 conn. | CPU/req ratio, 1 conn. | the worker's added p50, 1 conn. |",
    "|---|---:|---:|---:|---:|---:|",
    ...workers.map((w) => `| ${w.worker} | ${times(w.rpsRatio)} | ${times(w.cpuRatio)} | ${times(w.rpsRatio1)} | ${times(w.cpuRatio1)} | ${ms(w.addedP50)} ms |`),
    "",
  ];
}

function rowsWrittenMarkdown(results) {
  const t = results.throughput;
  const line = (scenario, w, what, target) =>
    `| ${scenario} | ${fmt(w.rows)} | ${fmt(w.requests)} ${what} | ${perRequest(w)}${w.restartedObjects ? ` (at least; ${w.restartedObjects} objects restarted)` : ""} | ${fmt(w.alarms)} | ${target} |`;
  return [
    `SQLite rows written by the keys' Durable Objects (\`KeyGuard.storageStats()\`, read before and after, each after a ${fmt(results.settings.flushWaitMs / 1_000, 1)} s wait for the writes after the replies and the release of unused reservations); alarms set, counted apart:`,
    "",
    "| Scenario | rows written | requests | rows per request | alarms set | target |",
    "|---|---:|---:|---:|---:|---|",
    line("3: valid keys, a pass of keygate alone after its turns", t.validRowsWritten, "admitted", "≤ 1"),
    line("11: quiet keys, about once a second each", results.quietKeys.rowsWritten, "admitted", "≤ 1"),
    line("10: one hot key, with warm-up", results.hotKey.rowsWritten, "admitted", "≤ 0.05"),
    line("4: one key at its limit, the measured pass", t.rateLimitedRowsWritten, "refused", "its usage only, ≤ 1 a second"),
    "",
  ];
}

export function markdown(results, rows, targets) {
  const m = results.machine;
  const st = results.settings;
  const lines = [
    `# keygate benchmark${st.quick ? " (quick mode: smoke check, not a measurement)" : ""}`,
    "",
    `${results.date} · ${m.cores} cores (${m.cpuModel}) · Node ${m.node} · workerd ${m.workerd} via Miniflare ${m.miniflare} · load average at start ${m.loadAverageStart.join(" / ")}`,
    "",
    `Settings: ${st.connections} connections (and 1), ${st.duration} s measured after ${st.warmup} s warm-up, ${st.rounds} alternating rounds for pass-through, floor-rpc, floor-row, floor-hardened and keygate; `
      + `origin, load generator and workerd are separate processes on the same machine. Build: \`wrangler deploy --dry-run\`, served by workerd through Miniflare's API on direct sockets, `
      + `D1, KV and SQLite-backed Durable Objects local, their files under ${st.stateDir}; origin signing on. `
      + `"workerd CPU ms/req" is the workerd process's CPU time over the measured pass divided by its responses: steadier than req/s on a shared machine.`,
    "",
    "| # | Scenario | req/s | p50 ms | p99 ms | vs pass-through | workerd CPU ms/req | Notes |",
    "|---|---|---:|---:|---:|---:|---:|---|",
    ...rows.map((r) => `| ${r.id} | ${r.name} | ${fmt(r.rps)} | ${ms(r.p50)} | ${ms(r.p99)} | ${r.ratio === null ? "" : `${r.ratio.toFixed(2)}×`} | ${r.cpu == null ? "" : fmt(r.cpu, 3)} | ${r.note} |`),
    "",
    `Seeding ${fmt(results.scale.seeding.rows)} keys into D1 took ${fmt(results.scale.seeding.seconds, 1)} s (${fmt(results.scale.seeding.rowsPerSecond)} rows/s). `
      + `Creating ${fmt(results.keyCreation.keys)} keys through the admin API took ${fmt(results.keyCreation.seconds, 1)} s.`,
    "",
    ...floorsMarkdown(results.againstFloors),
    ...rowsWrittenMarkdown(results),
    "| Target | Measured | |",
    "|---|---|---|",
    ...targets.map((t) => `| ${t.target} | ${t.measured} | ${t.pass ? "pass" : "**miss**"} |`),
    "",
  ];
  return lines.join("\n");
}

export function terminalTable(rows, targets, { keygateAddedP50, workers }) {
  const header = ["#", "Scenario", "req/s", "p50 ms", "p99 ms", "vs pass", "CPU ms/req"];
  const body = rows.map((r) => [r.id, r.name, fmt(r.rps), ms(r.p50), ms(r.p99), r.ratio === null ? "" : `${r.ratio.toFixed(2)}x`, r.cpu == null ? "" : fmt(r.cpu, 3)]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const line = (cells) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  const against = (w) =>
    `keygate vs ${w.worker.padEnd(12)}  req/s ${times(w.rpsRatio, "x")}  CPU/req ${times(w.cpuRatio, "x")}  |  1 conn.: req/s ${times(w.rpsRatio1, "x")}  CPU/req ${times(w.cpuRatio1, "x")}, its added p50 ${ms(w.addedP50)} ms`;
  return [
    line(header),
    widths.map((w) => "-".repeat(w)).join("  "),
    ...body.map(line),
    "",
    ...workers.map(against),
    `keygate's added p50 at 1 conn.: ${ms(keygateAddedP50)} ms`,
    "",
    ...targets.map((t) => `${t.pass ? "PASS" : "MISS"}  ${t.target}: ${t.measured}`),
  ].join("\n");
}
