import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import type { KeyPolicy } from "../../src/authority/key";
import type { AttemptGuard } from "../../src/guards/attempt-guard";
import type { KeyGuard } from "../../src/guards/key-guard";
import { systemClock } from "../../src/clock";
import { KeyLedger } from "../../src/object-storage/key-ledger";
import { gateway, withKey, type Created } from "../support/client";

/** Helpers shared by the rate-limit and revocation tests. */

/** A gateway response with the times (on keygate's clock) that bracket the server's decision. */
export interface Timed {
  res: Response;
  sent: number;
  received: number;
}

export async function timedRequest(key: string, path = "/timed", ip?: string): Promise<Timed> {
  const sent = systemClock.now();
  const res = await gateway(path, withKey(key, ip));
  const received = systemClock.now();
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
    windows: [{ name: "default", limit: rateLimit.limit, windowSeconds: rateLimit.window_seconds }],
    credits: null,
    quota: null,
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

/**
 * What the key's object has stored right now, read the way a restarted object reads it: the
 * admissions recorded in its window (within `windowMs` of now) and the admissions its stored
 * reservation allows beyond them. Read straight away, never after waiting for the object's own
 * writes: what matters is what a restart at this very moment would find.
 */
export function storedWindow(keyId: string, windowMs: number): Promise<{ recorded: number; reserved: number }> {
  return runInDurableObject(env.KEY_GUARD.getByName(keyId), (_instance, state) => {
    const now = systemClock.now();
    const { head, entries } = new KeyLedger(state.storage.sql).load({
      windowStarts: () => now - windowMs,
      hoursAfter: now,
      oldestEvent: () => Number.POSITIVE_INFINITY,
    });
    const recorded = (entries.get("default") ?? []).reduce((sum, entry) => sum + entry.count, 0);
    return { recorded, reserved: head?.reservation.admissions ?? 0 };
  });
}

/** The reservation the key's object holds in memory, and how much of it it has used. */
export function reservationOf(keyId: string): Promise<{ admissions: number; until: number; used: number }> {
  return runInDurableObject(env.KEY_GUARD.getByName(keyId), (instance) => {
    const guard = instance as unknown as { reservation: { admissions: number; until: number }; reservedUsed: number };
    return { ...guard.reservation, used: guard.reservedUsed };
  });
}

/**
 * Resets the key's object as an exception or a deploy would (`ctx.abort()`): whatever it had not
 * written is gone, and the next call starts a new instance from storage.
 */
export async function resetObject(keyId: string): Promise<void> {
  const stub = env.KEY_GUARD.getByName(keyId);
  await runInDurableObject(stub, (_instance, state) => {
    try {
      state.abort("reset by the test");
    } catch {
      // abort() throws in the caller by design.
    }
  }).catch(() => {});
}

/**
 * Runs now what an object's timer would run when due: a key's write after its replies (or the
 * release of a reservation that ran out unused), an attempt counter's write of the attempts it
 * counted. For tests that move the clock past that moment, or restart the object, rather than
 * wait for it.
 */
export function runDueWrite<T extends KeyGuard | AttemptGuard>(key: string | DurableObjectStub<T>): Promise<void> {
  const stub = typeof key === "string" ? env.KEY_GUARD.getByName(key) : key;
  return runInDurableObject<KeyGuard | T, void>(stub, (instance) => {
    const timers = instance as unknown as { writeDue(): void; releaseDue?(): void };
    timers.writeDue();
    timers.releaseDue?.();
  });
}
