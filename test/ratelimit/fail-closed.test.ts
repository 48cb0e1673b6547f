import { env } from "cloudflare:workers";
import { createExecutionContext, evictDurableObject, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import type { KeyGuard } from "../../src/guards/key-guard";
import { createKey, errorOf, originCounts, type Created } from "../support/client";

// When the key's Durable Object cannot answer, the request is refused with 503 auth_unavailable,
// unless RATE_LIMIT_FAIL_OPEN=true. Nothing is mocked; the object really fails, in two ways:
//
// 1. Its storage is damaged so that the object cannot start: every `decide` RPC to the real
//    KeyGuard rejects, through the real worker and the real binding.
// 2. KEY_GUARD is bound to a real Durable Object namespace of another class (AttemptGuard), which
//    has no `admit` method: the RPC is really sent and really fails. This lets the test give the
//    worker a different configuration (RATE_LIMIT_FAIL_OPEN) on its own env object, which
//    readConfig parses separately, by calling the worker's fetch handler directly.
//
// Both surface to the gateway exactly as an unreachable or overloaded object does: a rejected
// RPC promise.

type Handler = typeof worker.fetch;

async function call(key: Created, workerEnv: Env): Promise<Response> {
  const ctx = createExecutionContext();
  const request = new Request("https://api.example.com/failing", { headers: { "x-api-key": key.key } });
  const res = await worker.fetch(request as Parameters<Handler>[0], workerEnv, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

/**
 * Makes the key's real object fail every decision: its ledger is swapped for a view it cannot
 * read, so the object's constructor throws a storage error on every start, as an object in
 * trouble would.
 */
async function breakKeyGuard(key: Created): Promise<void> {
  const stub = env.KEY_GUARD.getByName(key.id);
  await runInDurableObject(stub, (_instance: KeyGuard, state) => {
    state.storage.sql.exec("DROP TABLE ledger");
    state.storage.sql.exec("CREATE VIEW ledger AS SELECT 1 AS unreadable");
  });
  await evictDurableObject(stub);
}

const rateHeaders = (res: Response) =>
  ["x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset", "ratelimit", "ratelimit-policy"].filter((h) => res.headers.has(h));

describe("when the key's Durable Object cannot be reached", () => {
  it("fails closed by default: 503 auth_unavailable, and the origin never sees the request", async () => {
    const key = await createKey();
    await breakKeyGuard(key);
    const res = await call(key, env);
    expect(res.status).toBe(503);
    expect((await errorOf(res)).error.code).toBe("auth_unavailable");
    expect(rateHeaders(res)).toEqual([]);
    expect((await originCounts())[key.id]).toBeUndefined();
  });

  it("fails closed when the binding reaches an object that cannot answer the call", async () => {
    const key = await createKey();
    const res = await call(key, { ...env, KEY_GUARD: env.ATTEMPT_GUARD } as unknown as Env);
    expect(res.status).toBe(503);
    expect((await errorOf(res)).error.code).toBe("auth_unavailable");
    expect((await originCounts())[key.id]).toBeUndefined();
  });

  it("with RATE_LIMIT_FAIL_OPEN=true admits the key on its cached record, without rate-limit headers", async () => {
    const key = await createKey();
    await breakKeyGuard(key);
    const res = await call(key, { ...env, RATE_LIMIT_FAIL_OPEN: "true" });
    expect(res.status).toBe(200);
    await res.body?.cancel();
    expect(rateHeaders(res)).toEqual([]);
    expect((await originCounts())[key.id]).toBe(1);

    const other = await createKey();
    const viaWrongClass = await call(other, { ...env, KEY_GUARD: env.ATTEMPT_GUARD, RATE_LIMIT_FAIL_OPEN: "true" } as unknown as Env);
    expect(viaWrongClass.status).toBe(200);
    await viaWrongClass.body?.cancel();
    expect((await originCounts())[other.id]).toBe(1);
  });

  it("the same worker with a working object admits normally (the failure above is the object's alone)", async () => {
    const key = await createKey();
    const res = await call(key, { ...env, RATE_LIMIT_FAIL_OPEN: "false" });
    expect(res.status).toBe(200);
    await res.body?.cancel();
    expect(res.headers.get("x-ratelimit-remaining")).toBe("59");
  });
});
