import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { vi } from "vitest";
import type { KeyPolicy } from "../../src/authority/key";
import type { AttemptGuard } from "../../src/guards/attempt-guard";
import type { KeyGuard } from "../../src/guards/key-guard";
import { gateway, withKey, type Created } from "../support/client";

/** Helpers shared by the rate-limit and revocation tests. */

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
export const sleepUntil = (at: number) => sleep(at - Date.now());

/** A gateway response with the client-side times that bracket the server's decision. */
export interface Timed {
  res: Response;
  sent: number;
  received: number;
}

export async function timedRequest(key: string, path = "/timed", ip?: string): Promise<Timed> {
  const sent = Date.now();
  const res = await gateway(path, withKey(key, ip));
  const received = Date.now();
  return { res, sent, received };
}

/** Sends `n` requests one after another and returns their statuses. */
export async function statuses(key: string, n: number, ip?: string, path = "/seq"): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const res = await gateway(path, withKey(key, ip));
    await res.body?.cancel();
    out.push(res.status);
  }
  return out;
}

export const headerNumber = (res: Response, name: string) => Number(res.headers.get(name));

/** The policy a freshly created key's object holds, from the admin view of the key. */
export function policyOf(key: Created): KeyPolicy {
  const rateLimit = key.rate_limit as { limit: number; window_seconds: number };
  return {
    status: "active",
    tenantActive: true,
    expiresAt: key.expires_at ? Date.parse(key.expires_at as string) : null,
    scopes: key.scopes as string[],
    limit: rateLimit.limit,
    windowSeconds: rateLimit.window_seconds,
  };
}

/**
 * A key change written the way the admin API writes it: straight to the key's Durable Object,
 * which answers only once the change is stored. Used for what the admin API refuses to say, such
 * as an expiry already in the past, or a late "active" arriving after a revocation.
 */
export async function writeThroughKeyGuard(key: Created, change: Partial<KeyPolicy>): Promise<void> {
  return env.KEY_GUARD.getByName(key.id).update(change, policyOf(key));
}

type Pending = { writes: { pending: boolean }; window: { dirty: boolean } };

async function waitUntilWritten(key: string | DurableObjectStub, written: (object: Pending) => boolean): Promise<void> {
  const stub = typeof key === "string" ? env.KEY_GUARD.getByName(key) : key;
  await vi.waitFor(
    async () => {
      if (!(await runInDurableObject(stub, (instance) => written(instance as unknown as Pending)))) {
        throw new Error("the key's object has decisions not yet written");
      }
    },
    { timeout: 15_000, interval: 50 },
  );
}

/**
 * Waits until the key's object has written every decision it made: it writes after replying (its
 * window at most a second later, usage at most 5 s later), so a test that restarts it must wait as
 * an idle object would have before Cloudflare evicts it.
 */
export const whenWritten = (key: string | DurableObjectStub<KeyGuard>) => waitUntilWritten(key, (object) => !object.writes.pending);

/** Waits until an attempt counter has written the attempts it counted (at most a second later). */
export const whenAttemptsWritten = (stub: DurableObjectStub<AttemptGuard>) => waitUntilWritten(stub, (object) => !object.writes.pending);

/** Waits until the key's object has written its window (at most a second after an admission). */
export const whenWindowWritten = (key: string) => waitUntilWritten(key, (object) => !object.window.dirty);

/** Requests the key's stored window still counts (rows whose requests are inside `windowMs` of now). */
export function storedInWindow(keyId: string, windowMs: number): Promise<number> {
  return runInDurableObject(env.KEY_GUARD.getByName(keyId), (_instance, state) =>
    state.storage.sql
      .exec<{ n: number }>("SELECT coalesce(sum(count), 0) AS n FROM window_entries WHERE end_at > ?", Date.now() - windowMs)
      .one().n,
  );
}
