import type { AdminRole } from "../authority/roles";
import { fetchPage, type Page, type PageRequest } from "./page";

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
  /** Carried by every token; a token with an older epoch is refused (bumped on a password change). */
  session_epoch: number;
}

const ADMIN_COLUMNS = "id, email, role, password_hash, password_salt, password_iterations, created_at, updated_at, last_signin_at, session_epoch";
const SELECT_ADMIN = `SELECT ${ADMIN_COLUMNS} FROM admins`;

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
      `INSERT INTO admins (id, email, role, password_hash, password_salt, password_iterations, created_at, updated_at, last_signin_at, session_epoch)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .bind(
      row.id,
      row.email,
      row.role,
      row.password_hash,
      row.password_salt,
      row.password_iterations,
      row.created_at,
      row.updated_at,
      row.last_signin_at,
      row.session_epoch,
    );
}

/**
 * Writes the given role and/or password. A new password also moves the session epoch on, which
 * ends every token issued before it. RETURNING gives the row as stored.
 */
export function updateAdmin(db: D1Database, id: string, change: { role?: AdminRole; password?: PasswordVerifier }, now: number): D1PreparedStatement {
  const p = change.password;
  return db
    .prepare(
      `UPDATE admins SET role = coalesce(?, role), password_hash = coalesce(?, password_hash), password_salt = coalesce(?, password_salt),
         password_iterations = coalesce(?, password_iterations), session_epoch = session_epoch + ?, updated_at = ?
       WHERE id = ? RETURNING ${ADMIN_COLUMNS}`,
    )
    .bind(change.role ?? null, p?.password_hash ?? null, p?.password_salt ?? null, p?.password_iterations ?? null, p ? 1 : 0, now, id);
}

/** Moves the admin's session epoch on: every token issued before is refused. */
export function endTokensOf(db: D1Database, id: string): D1PreparedStatement {
  return db.prepare("UPDATE admins SET session_epoch = session_epoch + 1 WHERE id = ?").bind(id);
}

export function markSignedIn(db: D1Database, id: string, now: number): D1PreparedStatement {
  return db.prepare("UPDATE admins SET last_signin_at = ? WHERE id = ?").bind(now, id);
}

export function deleteAdmin(db: D1Database, id: string): D1PreparedStatement {
  return db.prepare("DELETE FROM admins WHERE id = ?").bind(id);
}
