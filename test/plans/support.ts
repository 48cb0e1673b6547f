import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { expect } from "vitest";
import { admin, errorOf, gateway, uniqueIp, withKey, type Created } from "../support/client";
import { json } from "../admin/support";
import { verifyOverHttp } from "../support/verify";

/** Paid-plan helpers: tenants with quotas, keys with windows and credits, and where their limits stand. */

export interface QuotaBody {
  limit: number;
  period: string;
  anchor_day?: number;
  used: number | null;
  remaining: number | null;
  resets_at: string | null;
}

export interface TenantBody {
  id: string;
  name: string;
  status: string;
  quotas: { live: QuotaBody | null; test: QuotaBody | null };
  fanout?: { pending: boolean };
}

export interface CreditsBody {
  remaining: number | null;
  refill: { amount: number; interval: string; anchor_day?: number } | null;
  refills_at: string | null;
}

export interface PlanKeyBody extends Created {
  rate_limit: { limit: number; window_seconds: number };
  rate_limits: { name: string; limit: number; window_seconds: number }[];
  credits: CreditsBody | null;
}

export async function tenantWithQuotas(quotas: Record<string, unknown>, name = "Plans"): Promise<TenantBody> {
  return json<TenantBody>(await admin("POST", "/tenants", { name, quotas }), 201);
}

export async function planKey(fields: Record<string, unknown>): Promise<PlanKeyBody> {
  return json<PlanKeyBody>(await admin("POST", "/keys", fields), 201);
}

export const getTenantBody = async (id: string) => json<TenantBody>(await admin("GET", `/tenants/${id}`), 200);
export const getKeyBody = async (id: string) => json<PlanKeyBody>(await admin("GET", `/keys/${id}`), 200);

/** Sets a tenant's quotas and expects them in force everywhere when the call returns (200, nothing pending). */
export async function setQuotas(tenantId: string, quotas: Record<string, unknown>): Promise<TenantBody> {
  const body = await json<TenantBody>(await admin("PATCH", `/tenants/${tenantId}`, { quotas }), 200);
  expect(body.fanout).toEqual({ pending: false });
  return body;
}

/** One gateway request: "ok", or the error code it was refused with; with the response's headers. */
export async function call(key: string, path = "/items", method = "GET"): Promise<{ outcome: string; headers: Headers }> {
  const res = await gateway(path, withKey(key, uniqueIp(), { method }));
  if (res.status === 200) {
    await res.body?.cancel();
    return { outcome: "ok", headers: res.headers };
  }
  return { outcome: (await errorOf(res)).error.code, headers: res.headers };
}

export async function outcomes(key: string, n: number, path = "/items", method = "GET"): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push((await call(key, path, method)).outcome);
  return out;
}

/** Where each of the key's limits stands, by name, as a verification that only checks (cost 0) sees it. */
export async function standing(key: string): Promise<Record<string, number>> {
  const { status, body } = await verifyOverHttp({ key, cost: 0 });
  expect(status).toBe(200);
  return Object.fromEntries(body.limits.map((limit) => [limit.name, limit.remaining]));
}

/**
 * Restarts a tenant's quota object as an exception or a deploy would (`ctx.abort()`): whatever it
 * was answering is cut off, and the next call starts a new instance from its storage.
 */
export async function resetQuotaObject(name: string): Promise<void> {
  await runInDurableObject(env.QUOTA_GUARD.getByName(name), (_instance, state) => {
    try {
      state.abort("reset by the test");
    } catch {
      // abort() throws in the caller by design.
    }
  }).catch(() => {});
}
