import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { admin } from "../support/client";
import { json } from "../admin/support";

/** Usage-suite helpers: the usage, events and failed-attempt routes as the API shows them. */

export interface Point {
  admitted: number;
  units: number;
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
 * Forwards the key's counts to D1 now, as its alarm does FORWARD_DELAY_MS after a change, and
 * returns once D1 holds them (the forwarder's D1 batch waits up to BATCH_WAIT_MS for other keys'
 * counts before the call returns). The alarm forwards what the object counted in memory, so it
 * needs no write of the object's to have happened; the once-a-minute spacing of forwards is lifted
 * here, as the test's own clock would.
 */
export async function forwardNow(keyId: string): Promise<void> {
  await runInDurableObject(env.KEY_GUARD.getByName(keyId), async (instance) => {
    const guard = instance as unknown as { forwardedAt: number; alarm(): Promise<void> };
    guard.forwardedAt = Number.NEGATIVE_INFINITY;
    await guard.alarm();
  });
}
