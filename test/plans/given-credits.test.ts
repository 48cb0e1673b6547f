import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { policyOf } from "../../src/authority/key";
import { systemClock } from "../../src/clock";
import { periodAt } from "../../src/counting/calendar";
import { getKey } from "../../src/store/key-repo";
import { createTenant } from "../support/client";
import { asKey, expectError, failingFields, json } from "../admin/support";
import { getKeyBody, outcomes, planKey, type PlanKeyBody } from "./support";

// A tenant's key with keys:manage gives the keys it issues credits out of its own
// (admin/key-bounds.ts takeCredits): they move, never multiply. Each of its own calls to the admin
// API is admitted like any request and spends 1 credit too; the figures below count those.

const MANAGER = ["keys:manage", "read", "write"];

async function manager(credits: Record<string, unknown> | null): Promise<PlanKeyBody> {
  return planKey({ tenant_id: (await createTenant()).id, scopes: MANAGER, credits });
}

/** POST /keys by the manager, for its own tenant. */
function issue(by: PlanKeyBody, fields: Record<string, unknown>): Promise<Response> {
  return asKey(by.key, "POST", "/keys", { tenant_id: by.tenant_id, scopes: ["read"], ...fields });
}

const creditsOf = async (id: string) => (await getKeyBody(id)).credits!.remaining;

/** Every key row of a tenant, whatever its status: a refused creation stores none. */
async function keysOf(tenantId: string): Promise<string[]> {
  const { results } = await env.DB.prepare("SELECT id FROM api_keys WHERE tenant_id = ? ORDER BY id").bind(tenantId).all<{ id: string }>();
  return results.map((row) => row.id);
}

describe("credits a tenant's key gives the keys it issues", () => {
  it("come out of its own balance: two keys together never get more than it has, and a shortfall stores no key", async () => {
    const parent = await manager({ remaining: 10 });
    const first = await json<PlanKeyBody>(await issue(parent, { credits: { remaining: 6 } }), 201);
    expect(first.credits!.remaining).toBe(6);
    // 10, less its call (1), less what it gave (6).
    expect(await creditsOf(parent.id)).toBe(3);

    const before = await keysOf(parent.tenant_id);
    const refused = await expectError(await issue(parent, { credits: { remaining: 6 } }), 403, "insufficient_permissions");
    expect(refused.error.details).toMatchObject({ field: "credits", remaining: 2 });
    expect(await keysOf(parent.tenant_id)).toEqual(before);
    expect(await creditsOf(parent.id)).toBe(2);

    const second = await json<PlanKeyBody>(await issue(parent, { credits: { remaining: 1 } }), 201);
    expect(await creditsOf(parent.id)).toBe(0);
    // 6 and 1 given, 3 calls spent: the 10 it had, no more.
    expect([first, second].map((key) => key.credits!.remaining)).toEqual([6, 1]);
    // What each was given is its own to spend; the issuer has nothing left, to spend or to give.
    expect(await outcomes(second.key, 2)).toEqual(["ok", "usage_exceeded"]);
    expect(await outcomes(parent.key, 1)).toEqual(["usage_exceeded"]);
  });

  it("are never over-given by creations racing each other", async () => {
    const parent = await manager({ remaining: 100 });
    const answers = await Promise.all(Array.from({ length: 5 }, () => issue(parent, { credits: { remaining: 30 } })));
    const made: PlanKeyBody[] = [];
    for (const answer of answers) {
      if (answer.status === 201) made.push(await json<PlanKeyBody>(answer, 201));
      else await expectError(answer, 403, "insufficient_permissions");
    }
    // Five calls admitted (5 credits) leave 95: room for three gifts of 30, never a fourth.
    expect(made).toHaveLength(3);
    expect(await creditsOf(parent.id)).toBe(100 - 5 - 3 * 30);
    expect(await keysOf(parent.tenant_id)).toEqual([parent.id, ...made.map((key) => key.id)].sort());
  });

  it("must be given by a key that has credits (400 without, nothing taken); a key without credits gives any, taking nothing", async () => {
    const parent = await manager({ remaining: 10 });
    expect(await failingFields(await issue(parent, {}))).toEqual(["credits"]);
    expect(await keysOf(parent.tenant_id)).toEqual([parent.id]);
    expect(await creditsOf(parent.id)).toBe(9);
    const empty = await json<PlanKeyBody>(await issue(parent, { credits: { remaining: 0 } }), 201);
    expect(empty.credits!.remaining).toBe(0);
    expect(await creditsOf(parent.id)).toBe(8);

    const unlimited = await manager(null);
    expect((await json<PlanKeyBody>(await issue(unlimited, {}), 201)).credits).toBeNull();
    expect((await json<PlanKeyBody>(await issue(unlimited, { credits: { remaining: 500 } }), 201)).credits!.remaining).toBe(500);
    expect((await getKeyBody(unlimited.id)).credits).toBeNull();
  });

  it("go back to the issuer when the key is not issued after all", async () => {
    const parent = await manager({ remaining: 10 });
    // D1 itself refuses the new key's row (a real refusal, not a stand-in): after the credits were taken.
    await env.DB.prepare("CREATE TRIGGER refuse_doomed_key BEFORE INSERT ON api_keys WHEN NEW.name = 'doomed' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END").run();
    try {
      const res = await issue(parent, { name: "doomed", credits: { remaining: 6 } });
      expect(res.status).toBe(500);
      await res.body?.cancel();
    } finally {
      await env.DB.prepare("DROP TRIGGER refuse_doomed_key").run();
    }
    expect(await keysOf(parent.tenant_id)).toEqual([parent.id]);
    expect(await creditsOf(parent.id)).toBe(9);
  });
});

describe("a key's object, giving credits", () => {
  it("refuses a shortfall changing nothing, and takes back only into the refill period they were taken from", async () => {
    const parent = await manager({ remaining: 10, refill: { amount: 20, interval: "day" } });
    const guard = env.KEY_GUARD.getByName(parent.id);
    const snapshot = policyOf((await getKey(env.DB, parent.id))!);
    expect(await guard.takeCredits(11, snapshot)).toEqual({ taken: false, left: 10 });
    expect(await creditsOf(parent.id)).toBe(10);

    const taken = await guard.takeCredits(4, snapshot);
    if (!taken?.taken) throw new Error(`not taken: ${JSON.stringify(taken)}`);
    expect(taken.left).toBe(6);
    await guard.giveCreditsBack(4, taken.periodStart);
    expect(await creditsOf(parent.id)).toBe(10);

    const again = await guard.takeCredits(4, snapshot);
    if (!again?.taken) throw new Error(`not taken: ${JSON.stringify(again)}`);
    // The next day's refill sets the balance anew; what was taken went with the day it was taken from.
    const { end } = periodAt(systemClock.now(), { period: "day" });
    systemClock.advance(end - systemClock.now() + 1);
    await guard.giveCreditsBack(4, again.periodStart);
    expect(await creditsOf(parent.id)).toBe(20);
  });
});
