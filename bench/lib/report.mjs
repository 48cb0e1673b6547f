// One table (and the targets under it), as Markdown for people and JSON for tools.
const fmt = (n, digits = 0) =>
  n === null || n === undefined ? "–" : Number(n).toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
const ms = (n) => fmt(n, 2);
const ratio = (a, b) => (a && b ? Math.round((a / b) * 100) / 100 : null);

function statusNote(r) {
  if (r.asExpected) return "";
  const seen = Object.entries(r.statuses ?? {}).map(([s, n]) => `${n}×${s}`).join(", ");
  return ` **unexpected responses: ${seen}${r.errors ? `, ${r.errors} socket errors` : ""}**`;
}

export function buildRows(results) {
  const t = results.throughput;
  const rows = [];
  const load = (id, name, r, base, note) =>
    rows.push({ id, name, rps: r.rps, p50: r.p50, p99: r.p99, ratio: base ? ratio(r.rps, base.rps) : null, cpu: r.workerdCpuMs, note: note + statusNote(r) });
  const c = t.passThrough.connections;
  load("1", `Origin direct (${c} conn.)`, t.origin, t.passThrough, "the floor: Node http server on loopback");
  load("2", `Pass-through worker (${c} conn.)`, t.passThrough, t.passThrough, "same workerd, only `fetch(ORIGIN_URL + path, request)`");
  load("3", `keygate, valid keys, warm (${c} conn.)`, t.valid, t.passThrough, `${fmt(results.settings.validKeys)} keys round-robin, nothing rate-limited`);
  load("2·1", "Pass-through worker (1 conn.)", t.passThrough1, t.passThrough1, "");
  load("3·1", "keygate, valid keys, warm (1 conn.)", t.valid1, t.passThrough1, `added p50: ${ms(t.valid1.p50 - t.passThrough1.p50)} ms`);
  load("4", `keygate, one key at its limit → 429 (${c} conn.)`, t.rateLimited, t.passThrough, "asks the key's Durable Object, no origin call");
  load("5a", `keygate, malformed key → 401 (${c} conn.)`, t.malformed, t.passThrough, "checksum fails: zero I/O");
  load(
    "5b",
    `keygate, unknown well-formed keys → 401 (${c} conn.)`,
    t.unknown,
    t.passThrough,
    `${fmt(results.settings.unknownKeys)} keys, isolate negative cache; FAILED_AUTH_LIMIT raised to ${fmt(results.raisedFailedAuthLimit)} so each request also counts one failure in the IP's object`,
  );
  load("5c", `keygate, unknown keys from a blocked IP → 429 (${c} conn.)`, t.blockedIp, t.passThrough, "default FAILED_AUTH_LIMIT (30/min): after 30 failures the isolate refuses the IP with zero I/O");

  const x = results.exactness;
  rows.push({
    id: "6",
    name: `Exactness: ${x.keys} keys × limit ${x.limit}, ${fmt(x.requests)} requests (${x.connections} conn.)`,
    rps: x.rps,
    p50: x.p50,
    p99: x.p99,
    ratio: null,
    cpu: x.workerdCpuMs,
    note: `admitted at origin ${fmt(x.admittedAtOrigin)} (expected ${fmt(x.expected)}); over ${x.overAdmitted}, under ${x.underAdmitted}; 200s ${fmt(x.admittedResponses)}, 429s ${fmt(x.refusedResponses)}`,
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
  return rows;
}

export function evaluateTargets(results) {
  const t = results.throughput;
  const added = t.valid1.p50 - t.passThrough1.p50;
  const rejection = ["malformed", "unknown", "rateLimited"].map((k) => ({ k, r: ratio(t[k].rps, t.passThrough.rps) }));
  const x = results.exactness;
  const v = results.revocation;
  const s = results.scale;
  return [
    { target: "Valid-key throughput ≥ 0.8× pass-through", measured: `${ratio(t.valid.rps, t.passThrough.rps)}×`, pass: t.valid.rps >= 0.8 * t.passThrough.rps },
    { target: "p50 added latency at 1 connection ≤ 0.5 ms", measured: `${ms(added)} ms`, pass: added <= 0.5 },
    {
      target: "Rejection paths (malformed, unknown, 429) ≥ pass-through throughput",
      measured: rejection.map(({ k, r }) => `${k} ${r}×`).join(", "),
      pass: rejection.every(({ r }) => r >= 1),
    },
    { target: "Exactness: zero over- or under-admission", measured: `over ${x.overAdmitted}, under ${x.underAdmitted}`, pass: x.exact },
    { target: "Revocation lag: zero requests", measured: `${v.admittedAfter} admitted after revoke`, pass: v.admittedAfter === 0 && v.originAgrees },
    {
      target: `Cold lookup p50 at ${fmt(s.big.keys)} keys within 1.5× of ${fmt(s.small.keys)} keys`,
      measured: `${s.foundRatio}× (no such key: ${s.missingRatio}×)`,
      pass: s.foundRatio !== null && s.foundRatio <= 1.5,
    },
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
    `Settings: ${st.connections} connections (and 1), ${st.duration} s measured after ${st.warmup} s warm-up, ${st.rounds} alternating rounds for pass-through vs keygate; `
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
    "| Target | Measured | |",
    "|---|---|---|",
    ...targets.map((t) => `| ${t.target} | ${t.measured} | ${t.pass ? "pass" : "**miss**"} |`),
    "",
  ];
  return lines.join("\n");
}

export function terminalTable(rows, targets) {
  const header = ["#", "Scenario", "req/s", "p50 ms", "p99 ms", "vs pass", "CPU ms/req"];
  const body = rows.map((r) => [r.id, r.name, fmt(r.rps), ms(r.p50), ms(r.p99), r.ratio === null ? "" : `${r.ratio.toFixed(2)}x`, r.cpu == null ? "" : fmt(r.cpu, 3)]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const line = (cells) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  return [
    line(header),
    widths.map((w) => "-".repeat(w)).join("  "),
    ...body.map(line),
    "",
    ...targets.map((t) => `${t.pass ? "PASS" : "MISS"}  ${t.target}: ${t.measured}`),
  ].join("\n");
}
