/**
 * A tenant's status. Suspending refuses every key of the tenant at once (401 tenant_inactive)
 * without touching the keys, so reactivating brings back exactly those that were usable.
 */
export const TENANT_STATUSES = ["active", "suspended"] as const;
export type TenantStatus = (typeof TENANT_STATUSES)[number];
