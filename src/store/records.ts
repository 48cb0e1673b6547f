import type { Environment } from "../keys/format";

export type KeyStatus = "active" | "revoked" | "deleted";

/**
 * What can change about a key after it is issued. The key's Durable Object holds the
 * authoritative copy. Caches hold snapshots, believed only where they cannot be stale in the
 * caller's favour (revoked and deleted are final), used to seed an object never written, and to
 * decide alone only when RATE_LIMIT_FAIL_OPEN lets a request through without its object.
 */
export interface KeyPolicy {
  status: KeyStatus;
  tenantActive: boolean;
  expiresAt: number | null;
  scopes: string[];
  limit: number;
  windowSeconds: number;
}

/** A key as the gateway caches it: immutable identity plus a policy snapshot. */
export interface KeyRecord extends KeyPolicy {
  id: string;
  tenantId: string;
  environment: Environment;
}

/** Revoked and deleted are final, so a cache that says so can be believed without asking. */
export function isFinal(status: KeyStatus): boolean {
  return status !== "active";
}
