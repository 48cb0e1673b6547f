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
    expectLoad(t.rateLimited, 429);
    expectLoad(t.malformed, 401);
    expectLoad(t.unknown, 401);
    expectLoad(t.blockedIp, 429);
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
    for (const id of ["1", "2", "3", "2·1", "3·1", "4", "5a", "5b", "5c", "6", "7", "8a", "8b", "8c", "8d"]) {
      expect(markdown).toContain(`| ${id} |`);
    }
    expect(results.targets).toHaveLength(6);
    for (const target of results.targets) expect(typeof target.pass).toBe("boolean");
    expect(markdown).toContain(`${results.machine.cores} cores`);
  });
});
