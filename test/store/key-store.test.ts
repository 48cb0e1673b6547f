import { env } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Clock } from "../../src/clock";
import { IsolateState } from "../../src/isolate";
import { hashKey } from "../../src/keys/hash";
import { createServices } from "../../src/services";
import { createKey } from "../support/client";
import { unknownKey } from "../gateway/helpers";

/** A clock the test moves: services take it, so no timer is faked and no module is reloaded. */
function movableClock(start = Date.now()): Clock & { advance(ms: number): void } {
  let now = start;
  return { now: () => now, advance: (ms) => void (now += ms) };
}

function storeWith(clock: Clock) {
  return createServices(env, createExecutionContext(), { isolate: new IsolateState(), clock }).keys;
}

describe("the key store's isolate tier, on its own clock", () => {
  it("remembers an unknown hash for 60 s of its clock, then asks the edge again", async () => {
    const clock = movableClock();
    const keys = storeWith(clock);
    const key = unknownKey();
    const hash = await hashKey(key);
    expect(await keys.findByHash(hash)).toBeNull();
    // The key now exists at the edge (as if issued meanwhile); this isolate still remembers "unknown".
    const { id, tenant_id } = await createKey();
    const record = { id, tenantId: tenant_id, environment: "live" as const, status: "active" as const, tenantActive: true, expiresAt: null, scopes: ["read"], limit: 60, windowSeconds: 60 };
    await env.KEYS_CACHE.put(`key:${hash}`, JSON.stringify(record));
    clock.advance(59_000);
    expect(await keys.findByHash(hash)).toBeNull();
    clock.advance(2_000);
    expect(await keys.findByHash(hash)).toEqual(record);
  });

  it("a fresh isolate state shares nothing with another", async () => {
    const key = await createKey();
    const hash = await hashKey(key.key);
    const first = storeWith(movableClock());
    expect((await first.findByHash(hash))?.id).toBe(key.id);
    await env.KEYS_CACHE.delete(`key:${hash}`);
    await env.DB.prepare("DELETE FROM api_keys WHERE id = ?").bind(key.id).run();
    expect((await first.findByHash(hash))?.id).toBe(key.id);
    expect(await storeWith(movableClock()).findByHash(hash)).toBeNull();
  });
});
