import { env } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { vi } from "vitest";
import type { KeyUsageLog } from "../../src/usage/key-usage";
import { admin } from "../support/client";
import { json } from "../admin/support";
import { whenWritten } from "../ratelimit/support";

/** Usage-suite helpers: the usage, events and failed-attempt routes as the API shows them. */

export interface Point {
  admitted: number;
  rate_limited: number;
  refused: Record<string, number>;
}

export interface Series {
  granularity: string;
  from: string;
  to: string;
  series: (Point & { start: string })[];
  totals: Point;
}

export interface KeyUsageBody extends Series {
  requests: number;
  rate_limited: number;
  last_used_at: string | null;
  last_used_ip: string | null;
  last_used_country: string | null;
}

export interface EventBody {
  object: string;
  id: string;
  at: string;
  code: string;
  status: number;
  method: string | null;
  path: string | null;
  ip: string | null;
  country: string | null;
  user_agent: string | null;
  request_id: string | null;
  carrier: string | null;
}

export interface TenantUsageBody extends Series {
  keys: (Point & { key_id: string })[];
}

export interface FailedAttemptsBody {
  ip: string;
  hours: { start: string; counts: Record<string, number> }[];
  data: { at: string; code: string; path: string | null; key: string | null }[];
}

export const keyUsage = async (id: string, query = "") => json<KeyUsageBody>(await admin("GET", `/keys/${id}/usage${query}`), 200);

export async function keyEvents(id: string, query = ""): Promise<EventBody[]> {
  return (await json<{ data: EventBody[] }>(await admin("GET", `/keys/${id}/events${query}`), 200)).data;
}

export const tenantUsage = async (id: string, query = "") => json<TenantUsageBody>(await admin("GET", `/tenants/${id}/usage${query}`), 200);

export const failedAttempts = async (ip: string) => json<FailedAttemptsBody>(await admin("GET", `/failed-attempts?ip=${encodeURIComponent(ip)}&limit=100`), 200);

/**
 * Runs the key's pending alarm now, what it would do within FORWARD_DELAY_MS, and waits until D1
 * holds the key's counts: the alarm hands them to a forwarder, whose D1 batch waits up to
 * BATCH_WAIT_MS for other keys' counts before the call returns.
 */
export async function forwardNow(keyId: string): Promise<void> {
  const stub = env.KEY_GUARD.getByName(keyId);
  // Decisions are written after their replies (usage at most 5 s later), and that write sets the
  // alarm that forwards them; by then the alarm may have run on its own, which is as good.
  await whenWritten(keyId);
  await runDurableObjectAlarm(stub);
  await vi.waitFor(
    async () => {
      const unsynced = await runInDurableObject(stub, (instance) => (instance as unknown as { usage: KeyUsageLog }).usage.hours.unsynced().length);
      if (unsynced > 0) throw new Error("the key's counts are not in D1 yet");
    },
    { timeout: 10_000, interval: 50 },
  );
}
