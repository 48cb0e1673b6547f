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
 * What can change about a key after it is issued. The key's Durable Object holds the
 * authoritative copy; caches hold snapshots of it (see decision.ts for when one is believed).
 */
export interface KeyPolicy {
  status: KeyStatus;
  tenantActive: boolean;
  expiresAt: number | null;
  scopes: string[];
  limit: number;
  windowSeconds: number;
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
}

export function policyOf(key: KeyPolicy): KeyPolicy {
  const { status, tenantActive, expiresAt, scopes, limit, windowSeconds } = key;
  return { status, tenantActive, expiresAt, scopes, limit, windowSeconds };
}

export function recordOf(key: KeyRecord): KeyRecord {
  return { id: key.id, tenantId: key.tenantId, environment: key.environment, ...policyOf(key) };
}
