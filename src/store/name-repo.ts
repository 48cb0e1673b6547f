/**
 * What ids are called: an admin's email, a tenant's name, a key's name and display form. For
 * showing records that hold ids (the audit trail) in words; deleted keys keep their row, so they
 * are named too, while a removed admin is gone and is not.
 */
export interface NamedRow {
  id: string;
  type: "admin" | "tenant" | "api_key";
  name: string | null;
  display: string | null;
  tenant_id: string | null;
}

export async function namesOf(db: D1Database, ids: { admins: string[]; tenants: string[]; keys: string[] }): Promise<NamedRow[]> {
  const list = (values: string[]) => values.map(() => "?").join(", ");
  const queries = [
    ids.admins.length ? db.prepare(`SELECT id, 'admin' AS type, email AS name, NULL AS display, NULL AS tenant_id FROM admins WHERE id IN (${list(ids.admins)})`).bind(...ids.admins) : null,
    ids.tenants.length ? db.prepare(`SELECT id, 'tenant' AS type, name, NULL AS display, id AS tenant_id FROM tenants WHERE id IN (${list(ids.tenants)})`).bind(...ids.tenants) : null,
    ids.keys.length ? db.prepare(`SELECT id, 'api_key' AS type, name, display, tenant_id FROM api_keys WHERE id IN (${list(ids.keys)})`).bind(...ids.keys) : null,
  ].filter((query) => query !== null);
  if (queries.length === 0) return [];
  return (await db.batch<NamedRow>(queries)).flatMap((result) => result.results);
}
