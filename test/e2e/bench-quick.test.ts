import { beforeAll, describe, expect, it } from "vitest";
import { runQuickBench } from "../../bench/quick.mjs";

// `npm run bench -- --quick` end to end, so the harness cannot rot: every scenario must produce
// numbers and the right responses. Timings are never asserted (this machine is shared); the
// correctness the bench measures (exactness, revocation lag) is.

interface Load {
  responses: number;
  rps: number;
  p50: number;
  p99: number;
  statuses: Record<string, number>;
  errors: number;
  asExpected: boolean;
}
interface Lookup {
  lookups: number;
  p50: number;
  p99: number;
  asExpected: boolean;
}

let results: Record<string, any>;
let markdown: string;

beforeAll(async () => {
  ({ results, markdown } = await runQuickBench());
}, 300_000);

function expectLoad(load: Load, status: number) {
  expect(load.responses).toBeGreaterThan(0);
  expect(load.rps).toBeGreaterThan(0);
  expect(load.p50).toBeGreaterThan(0);
  expect(load.p99).toBeGreaterThanOrEqual(load.p50);
  expect(load.errors).toBe(0);
  expect(load.statuses).toEqual({ [status]: load.responses });
  expect(load.asExpected).toBe(true);
}

function expectLookup(lookup: Lookup) {
  expect(lookup.lookups).toBeGreaterThan(0);
  expect(lookup.p50).toBeGreaterThan(0);
  expect(lookup.p99).toBeGreaterThanOrEqual(lookup.p50);
  expect(lookup.asExpected).toBe(true);
}

describe("npm run bench -- --quick", () => {
  it("records the machine and the settings", () => {
    expect(results.machine.cores).toBeGreaterThan(0);
    expect(results.machine.cpuModel).toEqual(expect.any(String));
    expect(results.machine.node).toMatch(/^\d+\./);
    expect(results.settings).toMatchObject({ quick: true, connections: expect.any(Number), duration: expect.any(Number) });
    expect(Date.parse(results.date)).not.toBeNaN();
    expect(results.workerErrors).toBe(0);
  });

  it("measures origin, pass-through and every keygate path with the responses each should get", () => {
    const t = results.throughput;
    expectLoad(t.origin, 200);
    expectLoad(t.passThrough, 200);
    expectLoad(t.valid, 200);
    expectLoad(t.passThrough1, 200);
    expectLoad(t.valid1, 200);
    expect(t.passThrough1.connections).toBe(1);
    expect(t.valid1.connections).toBe(1);
    for (const floor of [t.floorRpc, t.floorRow, t.floorHardened, t.floorRpc1, t.floorRow1, t.floorHardened1]) expectLoad(floor, 200);
    for (const floor of [t.floorRpc1, t.floorRow1, t.floorHardened1]) expect(floor.connections).toBe(1);
    expectLoad(t.rateLimited, 429);
    expectLoad(t.malformed, 401);
    expectLoad(t.unknown, 401);
    expectLoad(t.blockedIp, 429);
    // Each rejection path takes turns with a pass-through of its own, which its ratio is against.
    for (const rejection of [t.rateLimited, t.malformed, t.unknown, t.blockedIp]) expectLoad(rejection.passThrough, 200);
  });

  it("compares keygate with the pass-through and the three floor workers, at N connections and at 1", () => {
    const { keygateAddedP50, workers } = results.againstFloors;
    expect(keygateAddedP50).toEqual(expect.any(Number));
    expect(workers.map((w: { worker: string }) => w.worker)).toEqual(["pass-through", "floor-rpc", "floor-row", "floor-hardened"]);
    for (const w of workers) {
      for (const figure of [w.rpsRatio, w.cpuRatio, w.rpsRatio1, w.cpuRatio1]) expect(figure).toBeGreaterThan(0);
      expect(w.addedP50).toEqual(expect.any(Number));
    }
  });

  it("counts the SQLite rows the keys' objects wrote per admitted request and per refusal", () => {
    const t = results.throughput;
    const keysUsed = results.settings.validKeys;
    for (const written of [t.validRowsWritten, t.rateLimitedRowsWritten, results.hotKey.rowsWritten, results.quietKeys.rowsWritten]) {
      expect(written.requests).toBeGreaterThan(0);
      expect(written.perRequest).toBe(written.rows / written.requests);
      expect(written.alarms).toEqual(expect.any(Number));
    }
    // Every key used in the pass stored what it decided (at least one write), and none wrote more
    // than a row per admission plus the release of its reservation.
    expect(t.validRowsWritten.rows).toBeGreaterThanOrEqual(keysUsed);
    expect(t.validRowsWritten.rows).toBeLessThanOrEqual(t.validRowsWritten.requests + keysUsed);
    const quiet = results.quietKeys.rowsWritten;
    expect(quiet.rows).toBeGreaterThanOrEqual(results.settings.quiet.keys);
    expect(quiet.rows).toBeLessThanOrEqual(quiet.requests + results.settings.quiet.keys);
    // The hot key writes about once a second, whatever its load.
    expect(results.hotKey.rowsWritten.rows).toBeGreaterThanOrEqual(1);
    expect(results.hotKey.rowsWritten.rows).toBeLessThan(results.hotKey.rowsWritten.requests);
    // Refusals: their usage, at most a write a second (and the first right after its reply).
    expect(t.rateLimitedRowsWritten.rows).toBeGreaterThanOrEqual(1);
    expect(t.rateLimitedRowsWritten.rows).toBeLessThanOrEqual(Math.ceil(t.rateLimitedRowsWritten.pass.seconds) + 2);
    // The origin counts every admitted request of scenario 3's rows pass, including the few (at most
    // one per connection) still in flight when autocannon stopped, whose responses it did not record.
    const rowsPass = t.validRowsWritten.pass;
    expectLoad(rowsPass, 200);
    expect(t.validRowsWritten.requests).toBeGreaterThanOrEqual(rowsPass.responses);
    expect(t.validRowsWritten.requests).toBeLessThanOrEqual(rowsPass.responses + rowsPass.connections);
    expect(results.hotKey.rowsWritten.requests).toBeGreaterThanOrEqual(results.hotKey.responses);
    expectLoad(t.rateLimitedRowsWritten.pass, 429);
    expect(t.rateLimitedRowsWritten.requests).toBe(t.rateLimitedRowsWritten.pass.responses);
  });

  it("uses quiet keys about once a second, and times objects starting cold on keygate and the hardened floor", () => {
    expect(results.quietKeys.asExpected).toBe(true);
    const c = results.coldStart;
    for (const side of [c.keygate, c.floor, c.keygateWarm, c.floorWarm]) {
      expect(side.requests).toBe(c.keys);
      expect(side.asExpected).toBe(true);
      expect(side.p50).toBeGreaterThan(0);
      expect(side.p99).toBeGreaterThanOrEqual(side.p50);
    }
  });

  it("serves one hot key from a single object with the right responses", () => {
    expectLoad(results.hotKey, 200);
    expect(results.hotKey.connections).toBe(results.settings.connections);
  });

  it("admits exactly a large limit on one key, and reports the rows its object stores", () => {
    const l = results.largeLimit;
    expect(l.keys).toBe(1);
    expect(l.limit).toBeGreaterThan(4_000);
    expect(l.requests).toBeGreaterThan(l.limit);
    expect(l.responses).toBe(l.requests);
    expect(l.admittedAtOrigin).toBe(l.limit);
    expect(l.admittedResponses).toBe(l.limit);
    expect(l.refusedResponses).toBe(l.requests - l.limit);
    expect(l.exact).toBe(true);
    expect(l.storedRows).toBeGreaterThan(0);
  });

  it("admits exactly keys × limit under concurrency, counted at the origin", () => {
    const x = results.exactness;
    expect(x.responses).toBe(x.requests);
    expect(x.admittedAtOrigin).toBe(x.keys * x.limit);
    expect(x.admittedResponses).toBe(x.keys * x.limit);
    expect(x.refusedResponses).toBe(x.requests - x.keys * x.limit);
    expect(x.overAdmitted).toBe(0);
    expect(x.underAdmitted).toBe(0);
    expect(x.exact).toBe(true);
    expect(x.storedRows).toBeGreaterThan(0);
  });

  it("shares one quota among a tenant's keys: never over it, under by at most one request per key, few quota-object calls", () => {
    const { keys, throughput, exactness } = results.sharedQuota;
    expectLoad(throughput.withQuota, 200);
    expectLoad(throughput.withoutQuota, 200);
    expect(throughput.rpsRatio).toBeGreaterThan(0);
    // Every admission spent from a lease, and leases were asked for far less often than admissions.
    expect(throughput.admitted).toBeGreaterThanOrEqual(throughput.withQuota.responses);
    expect(throughput.quotaCalls.acquire).toBeGreaterThanOrEqual(keys);
    expect(throughput.quotaCalls.acquire).toBeLessThan(throughput.admitted);
    expect(throughput.callsPerAdmission).toBe((throughput.quotaCalls.acquire + throughput.quotaCalls.release) / throughput.admitted);
    expect(exactness.responses).toBe(exactness.requests);
    expect(exactness.admittedAtOrigin).toBe(exactness.admittedResponses);
    expect(exactness.admittedAtOrigin).toBeLessThanOrEqual(exactness.quota);
    expect(exactness.admittedAtOrigin).toBeGreaterThanOrEqual(exactness.quota - keys);
    expect(exactness.refusedResponses).toBe(exactness.requests - exactness.admittedResponses);
  });

  it("admits nothing sent after a revoke returned, and streamed on both sides of it", () => {
    const v = results.revocation;
    expect(v.admittedBefore).toBeGreaterThan(0);
    expect(v.sentAfter).toBeGreaterThan(0);
    expect(v.admittedAfter).toBe(0);
    expect(v.refusedAfter).toBe(v.sentAfter);
    expect(v.originAgrees).toBe(true);
  });

  it("times cold lookups at the small and the seeded scale", () => {
    const s = results.scale;
    expect(s.small.keys).toBe(results.settings.scale.small);
    expect(s.big.keys).toBe(results.settings.scale.big);
    for (const phase of [s.small, s.big]) {
      expectLookup(phase.found);
      expectLookup(phase.missing);
    }
    expect(s.seeding.rows).toBe(results.settings.scale.big - results.settings.scale.small);
    expect(s.foundRatio).toBeGreaterThan(0);
  });

  it("writes one table with every scenario and judges every target", () => {
    for (const id of ["1", "2", "2a", "2b", "2c", "3", "2·1", "2a·1", "2b·1", "2c·1", "3·1", "4", "5a", "5b", "5c", "6", "7", "8a", "8b", "8c", "8d", "9", "10", "11", "12a", "12b", "13a", "13b"]) {
      expect(markdown).toContain(`| ${id} |`);
    }
    expect(markdown).toContain("| floor-hardened |");
    expect(results.targets).toHaveLength(16);
    for (const target of results.targets) expect(typeof target.pass).toBe("boolean");
    expect(markdown).toContain(`${results.machine.cores} cores`);
  });
});
