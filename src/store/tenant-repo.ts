export interface TenantRow {
  id: string;
  name: string;
  status: "active" | "suspended";
  created_at: number;
  updated_at: number;
}

export function getTenant(db: D1Database, id: string): Promise<TenantRow | null> {
  return db.prepare("SELECT id, name, status, created_at, updated_at FROM tenants WHERE id = ?").bind(id).first<TenantRow>();
}

export function insertTenant(db: D1Database, row: TenantRow): D1PreparedStatement {
  return db
    .prepare("INSERT INTO tenants (id, name, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?)")
    .bind(row.id, row.name, row.status, row.created_at, row.updated_at);
}

export function updateTenant(db: D1Database, row: TenantRow): D1PreparedStatement {
  return db.prepare("UPDATE tenants SET name = ?, status = ?, updated_at = ? WHERE id = ?").bind(row.name, row.status, row.updated_at, row.id);
}
