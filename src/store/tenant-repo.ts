import { fetchPage, type Filter, type Page, type PageRequest } from "./page";

export interface TenantRow {
  id: string;
  name: string;
  status: "active" | "suspended";
  created_at: number;
  updated_at: number;
}

const SELECT_TENANT = "SELECT id, name, status, created_at, updated_at FROM tenants";

export function getTenant(db: D1Database, id: string): Promise<TenantRow | null> {
  return db.prepare(`${SELECT_TENANT} WHERE id = ?`).bind(id).first<TenantRow>();
}

export function listTenants(db: D1Database, filter: { status?: TenantRow["status"] }, page: PageRequest): Promise<Page<TenantRow>> {
  const where: Filter = filter.status ? { where: ["status = ?"], binds: [filter.status] } : { where: [], binds: [] };
  return fetchPage<TenantRow>(db, SELECT_TENANT, where, page);
}

export function insertTenant(db: D1Database, row: TenantRow): D1PreparedStatement {
  return db
    .prepare("INSERT INTO tenants (id, name, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?)")
    .bind(row.id, row.name, row.status, row.created_at, row.updated_at);
}

export function updateTenant(db: D1Database, row: TenantRow): D1PreparedStatement {
  return db.prepare("UPDATE tenants SET name = ?, status = ?, updated_at = ? WHERE id = ?").bind(row.name, row.status, row.updated_at, row.id);
}
