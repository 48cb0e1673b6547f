import { env } from "cloudflare:workers";
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { KeyGuard } from "../../src/guards/key-guard";
import { admin, createKey, errorOf, gateway, withKey, type Created } from "../support/client";
import { storedInWindow, whenWritten } from "./support";

// A key's object decides in memory and writes after it has replied, so no admission waits for
// storage (on Cloudflare, for replicas to confirm the write). Admin writes are the opposite: they
// are stored before the admin call returns, together with anything still waiting in memory.

const WINDOW_MS = 60_000;

async function send(key: Created): Promise<number> {
  const res = await gateway("/persist", withKey(key.key));
  await res.body?.cancel();
  return res.status;
}

/** What the object's storage says right now, read inside the object between two requests. */
const storedPolicy = (key: Created) =>
  runInDurableObject(env.KEY_GUARD.getByName(key.id), (_instance: KeyGuard, state) =>
    JSON.parse(state.storage.sql.exec<{ policy: string }>("SELECT policy FROM guard WHERE id = 1").one().policy) as { status: string; limit: number },
  );

describe("admissions do not wait for storage", () => {
  it("replies before the admission is written, then writes the batch within a second", async () => {
    const key = await createKey({ rate_limit: { limit: 10, window_seconds: 60 } });
    // The first request after a quiet spell is written right after its reply.
    expect(await send(key)).toBe(200);
    await whenWritten(key.id);
    expect(await storedInWindow(key.id, WINDOW_MS)).toBe(1);

    // The next ones come within the second: each reply has reached the client while storage still
    // holds only the first, so no reply was held for its own write.
    for (let i = 2; i <= 4; i++) {
      expect(await send(key)).toBe(200);
      expect(await storedInWindow(key.id, WINDOW_MS)).toBe(1);
    }
    // One write then carries all three.
    await whenWritten(key.id);
    expect(await storedInWindow(key.id, WINDOW_MS)).toBe(4);
    const usage = await env.KEY_GUARD.getByName(key.id).getUsage();
    expect(usage.requests).toBe(4);
  });

  it("a refusal over the limit writes nothing of the window, and refusals are written in one batch", async () => {
    const key = await createKey({ rate_limit: { limit: 2, window_seconds: 60 } });
    expect([await send(key), await send(key)]).toEqual([200, 200]);
    await whenWritten(key.id);
    const guard = env.KEY_GUARD.getByName(key.id);
    const before = await guard.storageStats();
    for (let i = 0; i < 20; i++) expect(await send(key)).toBe(429);
    await whenWritten(key.id);
    const after = await guard.storageStats();
    expect(after.storedRows).toBe(before.storedRows);
    // Twenty refusals, one write: the counters' row, the hour's row and the twenty events.
    expect(after.rowsWritten - before.rowsWritten).toBeLessThanOrEqual(23);
    expect(await storedInWindow(key.id, WINDOW_MS)).toBe(2);
  });
});

describe("admin writes are durable before the admin call returns", () => {
  it("a revocation is stored when the call returns: an object restarted at once refuses the key", async () => {
    const key = await createKey();
    expect(await send(key)).toBe(200);
    expect((await admin("POST", `/keys/${key.id}/revoke`)).status).toBe(200);
    // Read straight from storage, with no wait, then from a new instance built from it.
    expect((await storedPolicy(key)).status).toBe("revoked");
    await evictDurableObject(env.KEY_GUARD.getByName(key.id));
    const res = await gateway("/persist", withKey(key.key));
    expect(res.status).toBe(401);
    expect((await errorOf(res)).error.code).toBe("revoked_key");
  });

  it("a limit change is stored with the admissions still waiting in memory", async () => {
    const key = await createKey({ rate_limit: { limit: 5, window_seconds: 60 } });
    expect(await send(key)).toBe(200);
    await whenWritten(key.id);
    // Two more inside the second: they wait in memory...
    expect([await send(key), await send(key)]).toEqual([200, 200]);
    expect(await storedInWindow(key.id, WINDOW_MS)).toBe(1);
    // ...until the admin write, which stores them along with the new limit before it returns.
    expect((await admin("PATCH", `/keys/${key.id}`, { rate_limit: { limit: 4, window_seconds: 60 } })).status).toBe(200);
    expect(await storedInWindow(key.id, WINDOW_MS)).toBe(3);
    expect((await storedPolicy(key)).limit).toBe(4);
    await evictDurableObject(env.KEY_GUARD.getByName(key.id));
    expect([await send(key), await send(key)]).toEqual([200, 429]);
  });
});
