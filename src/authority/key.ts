import { windowsOf, type CreditPlan, type RateWindow, type TenantQuotas } from "./plan";

// A key inside keygate, in one shape. `snake_case` exists only in SQL (store/) and on the wire
// (admin views, verify answers); everything between works with this.

/** Where a key is used; written into the key itself (`kg_live_…`, `kg_test_…`). */
export const ENVIRONMENTS = ["live", "test"] as const;
export type Environment = (typeof ENVIRONMENTS)[number];
/** A new key's environment when its creator does not say (a tenant's own key: its own). */
export const DEFAULT_ENVIRONMENT: Environment = "live";

/**
 * What is stored about a key's life. Expiry is not a stored status: a key is expired by the clock
 * (see keyState), so extending its expiry brings it back, while revoked and deleted are terminal.
 */
export type KeyStatus = "active" | "revoked" | "deleted";

/**
 * The tenant's quota a key spends from: the quota object it leases units from (one per tenant and
 * environment), and the version of the tenant's quotas it was told of (a change takes back every lease).
 */
export interface QuotaRef {
  object: string;
  version: number;
}

/**
 * What can change about a key after it is issued. The key's Durable Object holds the
 * authoritative copy; caches hold snapshots of it (see decision.ts for when one is believed).
 */
export interface KeyPolicy {
  status: KeyStatus;
  tenantActive: boolean;
  expiresAt: number | null;
  scopes: string[];
  /** One to MAX_WINDOWS rate windows; a request is admitted only if each has room. */
  windows: RateWindow[];
  /** Null: the key spends no credits. */
  credits: CreditPlan | null;
  /** Null: no quota for the key's tenant and environment. */
  quota: QuotaRef | null;
}

/** A key's identity and policy: what the gateway caches and the decision needs. */
export interface KeyRecord extends KeyPolicy {
  id: string;
  tenantId: string;
  environment: Environment;
}

/** A key as the admin side sees it: the record plus its names, times and rotation links. */
export interface Key extends KeyRecord {
  hash: string;
  display: string;
  name: string | null;
  description: string | null;
  createdAt: number;
  updatedAt: number;
  revokedAt: number | null;
  deletedAt: number | null;
  rotatedFrom: string | null;
  rotatedTo: string | null;
  /** The version of the tenant's status (tenants.updated_at), which orders writes of it to the key's object. */
  tenantVersion: number;
  /** The credits an admin last set (the key's object counts down from there); null without credits. */
  creditsSet: number | null;
}

export function policyOf(key: KeyPolicy): KeyPolicy {
  const { status, tenantActive, expiresAt, scopes, windows, credits, quota } = key;
  return { status, tenantActive, expiresAt, scopes, windows, credits, quota };
}

/** The quota object of a tenant's environment. */
export function quotaObject(tenantId: string, environment: Environment): string {
  return `${tenantId}:${environment}`;
}

/**
 * The quota a key of `environment` spends from, when its tenant has one for that environment:
 * versioned by the tenant's version (tenants.updated_at), so every change of the quotas is a new
 * reference, and a key's object told of it gives its lease under the old one back.
 */
export function quotaRef(tenantId: string, environment: Environment, quotas: TenantQuotas | null, version: number): QuotaRef | null {
  return quotas?.[environment] ? { object: quotaObject(tenantId, environment), version } : null;
}

export function recordOf(key: KeyRecord): KeyRecord {
  return { id: key.id, tenantId: key.tenantId, environment: key.environment, ...policyOf(key) };
}

/**
 * A policy as any release stored it (a key's object, a cache): releases before several windows
 * kept one window as `limit`/`windowSeconds` and had no credits or quota.
 */
export function normalizePolicy<T extends object>(stored: T): Omit<T, "limit" | "windowSeconds"> & KeyPolicy {
  const { limit, windowSeconds, ...rest } = stored as T & { limit?: number; windowSeconds?: number } & Partial<KeyPolicy>;
  const policy = rest as Partial<KeyPolicy>;
  return {
    ...(rest as Omit<T, "limit" | "windowSeconds">),
    windows: windowsOf({ windows: policy.windows, limit, windowSeconds }),
    credits: policy.credits ?? null,
    quota: policy.quota ?? null,
  } as Omit<T, "limit" | "windowSeconds"> & KeyPolicy;
}
