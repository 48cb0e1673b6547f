import { fetchPage, type Page, type PageRequest } from "./page";

export type AdminRole = "owner" | "admin" | "viewer";

/** A stored PBKDF2 verifier; the iteration count is kept per row so it can be raised later. */
export interface PasswordVerifier {
  password_hash: string;
  password_salt: string;
  password_iterations: number;
}

export interface AdminRow extends PasswordVerifier {
  id: string;
  email: string;
  role: AdminRole;
  created_at: number;
  updated_at: number;
  last_signin_at: number | null;
}

const SELECT_ADMIN =
  "SELECT id, email, role, password_hash, password_salt, password_iterations, created_at, updated_at, last_signin_at FROM admins";

export function getAdmin(db: D1Database, id: string): Promise<AdminRow | null> {
  return db.prepare(`${SELECT_ADMIN} WHERE id = ?`).bind(id).first<AdminRow>();
}

/** Emails are stored lower-cased (the schemas normalise them), so this is an exact match. */
export function getAdminByEmail(db: D1Database, email: string): Promise<AdminRow | null> {
  return db.prepare(`${SELECT_ADMIN} WHERE email = ?`).bind(email).first<AdminRow>();
}

export function listAdmins(db: D1Database, page: PageRequest): Promise<Page<AdminRow>> {
  return fetchPage<AdminRow>(db, SELECT_ADMIN, { where: [], binds: [] }, page);
}

export async function countOwners(db: D1Database): Promise<number> {
  return (await db.prepare("SELECT COUNT(*) AS n FROM admins WHERE role = 'owner'").first<number>("n")) ?? 0;
}

export function insertAdmin(db: D1Database, row: AdminRow): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO admins (id, email, role, password_hash, password_salt, password_iterations, created_at, updated_at, last_signin_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .bind(row.id, row.email, row.role, row.password_hash, row.password_salt, row.password_iterations, row.created_at, row.updated_at, row.last_signin_at);
}

export function updateAdmin(db: D1Database, row: AdminRow): D1PreparedStatement {
  return db
    .prepare("UPDATE admins SET role = ?, password_hash = ?, password_salt = ?, password_iterations = ?, updated_at = ? WHERE id = ?")
    .bind(row.role, row.password_hash, row.password_salt, row.password_iterations, row.updated_at, row.id);
}

export function markSignedIn(db: D1Database, id: string, now: number): D1PreparedStatement {
  return db.prepare("UPDATE admins SET last_signin_at = ? WHERE id = ?").bind(now, id);
}

export function deleteAdmin(db: D1Database, id: string): D1PreparedStatement {
  return db.prepare("DELETE FROM admins WHERE id = ?").bind(id);
}
