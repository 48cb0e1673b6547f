import { ENVIRONMENTS, quotaObject, quotaRef, type Environment } from "../authority/key";
import type { Quota, TenantQuotas } from "../authority/plan";
import type { QuotaStanding } from "../guards/quota-guard";
import type { Services } from "../services";
import {
  advanceQuotaFanout,
  ensureQuotaFanout,
  finishQuotaFanout,
  getQuotaFanout,
  getTenant,
  quotasOf,
  setTenantQuotas,
  type TenantRow,
} from "../store/tenant-repo";
import { auditStatement, tenantResource, type Actor } from "../store/audit-trail";
import { FANOUT_BUDGET } from "../guards/guard-client";
import { fanOut } from "./fanout";
import { quotaFromWire, type QuotasWire } from "./plans";
import { tenantView } from "./views";

/**
 * A tenant's quotas, one per environment, each counted by its quota object (guards/quota-guard.ts)
 * and spent by the environment's keys' objects from leases. A change is in force for the next
 * request of every key of the environment before the admin call returns: D1 first (its
 * updated_at versions the change), then the quota object with that version, then every live key's
 * object of the environment is given the new reference, which makes it give back the lease it held
 * under the old one (so the new limit counts everything spent so far, and no key spends on from an
 * old lease).
 */

/** The environments a change names, with the quota each gets (null: removed). */
export function quotaChanges(change: QuotasWire): Partial<Record<Environment, Quota | null>> {
  const changes: Partial<Record<Environment, Quota | null>> = {};
  for (const environment of ENVIRONMENTS) {
    const given = change[environment];
    if (given !== undefined) changes[environment] = given === null ? null : quotaFromWire(given);
  }
  return changes;
}

/**
 * A new tenant's quotas go to their quota objects before the tenants row exists: no key can spend
 * from them yet, and a row that fails to be written leaves only an unused quota object behind.
 */
export async function configureNewQuotas(services: Services, tenantId: string, quotas: TenantQuotas, version: number): Promise<void> {
  await Promise.all(
    Object.entries(quotas).map(([environment, quota]) => services.guards.quota(quotaObject(tenantId, environment as Environment)).configure(quota, version)),
  );
}

/**
 * Sets or removes the quotas the change names and writes them everywhere they count; true while
 * keys' objects remain to be told (a tenant with more than FANOUT_BUDGET live keys in the
 * environments changed: repeat the call). A repeat of a change already made stores nothing new and
 * writes the quota objects and the keys' objects again, which repairs a call that failed part-way.
 */
export async function changeQuotas(services: Services, actor: Actor, tenant: TenantRow, change: QuotasWire): Promise<boolean> {
  const changes = quotaChanges(change);
  const environments = Object.keys(changes) as Environment[];
  const { db } = services;
  const now = services.clock.now();
  await db.batch([
    setTenantQuotas(db, tenant.id, changes, now),
    auditStatement(db, actor, "tenant.quotas_changed", tenantResource(tenant), now, { quotas: change }, { ifChanged: true }),
    ...environments.map((environment) => ensureQuotaFanout(db, tenant.id, environment)),
  ]);
  // What D1 holds now, with its version: a concurrent change that landed later wins everywhere.
  const stored = (await getTenant(db, tenant.id))!;
  const quotas = quotasOf(stored);
  await Promise.all(
    environments.map((environment) => services.guards.quota(quotaObject(tenant.id, environment)).configure(quotas[environment] ?? null, stored.updated_at)),
  );
  let budget = FANOUT_BUDGET;
  let pending = false;
  for (const environment of environments) {
    const fanout = await getQuotaFanout(db, tenant.id, environment);
    // Finished by a concurrent call, or owned by one whose change landed after `stored` was read:
    // its quotas, not these, go with its version.
    if (!fanout || fanout.version > stored.updated_at) continue;
    const quota = quotaRef(tenant.id, environment, quotas, fanout.version);
    const done = await fanOut(
      services,
      {
        tenantId: tenant.id,
        environment,
        after: fanout.after_key_id,
        write: (guarded) => services.guards.writePolicy(guarded.id, { quota }, guarded.policy, fanout.version),
        advance: (after) => advanceQuotaFanout(db, fanout, after),
        finish: () => finishQuotaFanout(db, fanout),
      },
      budget,
    );
    budget -= done.written;
    pending ||= done.pending;
  }
  return pending;
}

/** Where each of the tenant's quotas stands, from its quota object (one call per quota set). */
export async function quotaStandings(services: Services, row: Pick<TenantRow, "id" | "quotas">): Promise<Partial<Record<Environment, QuotaStanding | null>>> {
  const quotas = quotasOf(row);
  const environments = ENVIRONMENTS.filter((environment) => quotas[environment]);
  const standings = await Promise.all(environments.map((environment) => services.guards.quota(quotaObject(row.id, environment)).standing()));
  return Object.fromEntries(environments.map((environment, i) => [environment, standings[i]]));
}

/** A tenant as the API shows one: its quotas with where each stands now. */
export async function tenantViewNow(services: Services, row: TenantRow) {
  return tenantView(row, await quotaStandings(services, row));
}

/** The quotas a new tenant is created with (an environment given null has none). */
export function newTenantQuotas(change: QuotasWire | undefined): TenantQuotas {
  const quotas: TenantQuotas = {};
  for (const [environment, quota] of Object.entries(quotaChanges(change ?? {}))) if (quota) quotas[environment as Environment] = quota;
  return quotas;
}

/** How a quota counts, for the API's descriptions. */
export const QUOTA_NOTE =
  "cost units per UTC day or month, across every key of the environment; `null` removes one. A change is in force for the next request of each such key when the call returns, " +
  `for up to ${FANOUT_BUDGET} live keys of the environments changed; a tenant with more gets 202 and continues with a repeat of the same call`;
