/**
 * An admin's second factors: a TOTP authenticator (admin_totp), one-time recovery codes
 * (admin_recovery_codes) and passkeys (admin_passkeys). What a factor accepts is decided in
 * identity/; this only stores.
 */
export interface TotpRow {
  admin_id: string;
  /** Encrypted (identity/secret-box.ts). */
  secret: string;
  created_at: number;
  confirmed_at: number | null;
  last_step: number;
}

export interface PasskeyRow {
  id: string;
  admin_id: string;
  public_key: string;
  counter: number;
  transports: string | null;
  name: string;
  created_at: number;
  last_used_at: number | null;
}

/** Which second factors an admin has in force. */
export interface FactorSummary {
  totp: boolean;
  passkeys: number;
  recoveryCodesLeft: number;
}

/** A factor in force: an authenticator or a passkey (recovery codes only stand in for one). */
export function hasSecondFactor(factors: FactorSummary): boolean {
  return factors.totp || factors.passkeys > 0;
}

/** The second factors the admin can give now, as the API names them. */
export function factorMethods(factors: FactorSummary): string[] {
  return [...(factors.totp ? ["totp"] : []), ...(factors.passkeys > 0 ? ["passkey"] : []), ...(factors.recoveryCodesLeft > 0 ? ["recovery_code"] : [])];
}

export function getTotp(db: D1Database, adminId: string): Promise<TotpRow | null> {
  return db.prepare("SELECT * FROM admin_totp WHERE admin_id = ?").bind(adminId).first<TotpRow>();
}

/** A new, unconfirmed authenticator; it replaces one that was never confirmed, never one in force. */
export function putPendingTotp(db: D1Database, adminId: string, secret: string, now: number): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO admin_totp (admin_id, secret, created_at, confirmed_at, last_step) VALUES (?, ?, ?, NULL, 0)
       ON CONFLICT (admin_id) DO UPDATE SET secret = excluded.secret, created_at = excluded.created_at, last_step = 0 WHERE confirmed_at IS NULL`,
    )
    .bind(adminId, secret, now);
}

/**
 * Takes the time step of an accepted code: only a step later than any accepted before, so a code
 * is never accepted twice (nor an older one). False when another request took it first.
 */
export async function takeTotpStep(db: D1Database, adminId: string, step: number, confirm: { now: number } | null): Promise<boolean> {
  const statement = confirm
    ? db.prepare("UPDATE admin_totp SET last_step = ?, confirmed_at = ? WHERE admin_id = ? AND last_step < ? AND confirmed_at IS NULL").bind(step, confirm.now, adminId, step)
    : db.prepare("UPDATE admin_totp SET last_step = ? WHERE admin_id = ? AND last_step < ? AND confirmed_at IS NOT NULL").bind(step, adminId, step);
  const result = await statement.run();
  return result.meta.changes === 1;
}

export function deleteTotp(db: D1Database, adminId: string): D1PreparedStatement {
  return db.prepare("DELETE FROM admin_totp WHERE admin_id = ?").bind(adminId);
}

// Whether admin ?1 has a factor in force, read inside the statement that removes one.
const HAS_TOTP = "EXISTS (SELECT 1 FROM admin_totp WHERE admin_id = ?1 AND confirmed_at IS NOT NULL)";
const HAS_PASSKEY = "EXISTS (SELECT 1 FROM admin_passkeys WHERE admin_id = ?1)";

/**
 * Removes the admin's authenticator. With `keepAFactor` (every admin must have one), one in force
 * goes only if a passkey stays, and that is decided inside this one statement: two removals at
 * once cannot each count on the other's factor staying. One never confirmed is no factor and goes
 * regardless. `meta.changes` is 0 when nothing was removed.
 */
export function removeTotp(db: D1Database, adminId: string, keepAFactor: boolean): D1PreparedStatement {
  return db
    .prepare(`DELETE FROM admin_totp WHERE admin_id = ?1 AND (?2 = 0 OR confirmed_at IS NULL OR ${HAS_PASSKEY})`)
    .bind(adminId, keepAFactor ? 1 : 0);
}

/**
 * Removes one of the admin's passkeys. With `keepAFactor`, only if another passkey or an
 * authenticator in force stays, decided inside this one statement as for removeTotp.
 */
export function removePasskey(db: D1Database, adminId: string, id: string, keepAFactor: boolean): D1PreparedStatement {
  return db
    .prepare(
      `DELETE FROM admin_passkeys WHERE id = ?2 AND admin_id = ?1
         AND (?3 = 0 OR EXISTS (SELECT 1 FROM admin_passkeys WHERE admin_id = ?1 AND id <> ?2) OR ${HAS_TOTP})`,
    )
    .bind(adminId, id, keepAFactor ? 1 : 0);
}

/**
 * The recovery codes of an admin left with no factor in force: they stand in for a factor that no
 * longer exists. Put after a removal in its batch; with a factor left it removes nothing.
 */
export function deleteRecoveryCodesWithoutFactor(db: D1Database, adminId: string): D1PreparedStatement {
  return db.prepare(`DELETE FROM admin_recovery_codes WHERE admin_id = ?1 AND NOT ${HAS_TOTP} AND NOT ${HAS_PASSKEY}`).bind(adminId);
}

/** Statements that replace an admin's recovery codes with these hashes. */
export function replaceRecoveryCodes(db: D1Database, adminId: string, hashes: string[], now: number): D1PreparedStatement[] {
  return [
    deleteRecoveryCodes(db, adminId),
    ...hashes.map((hash) => db.prepare("INSERT INTO admin_recovery_codes (admin_id, code_hash, created_at) VALUES (?, ?, ?)").bind(adminId, hash, now)),
  ];
}

export function deleteRecoveryCodes(db: D1Database, adminId: string): D1PreparedStatement {
  return db.prepare("DELETE FROM admin_recovery_codes WHERE admin_id = ?").bind(adminId);
}

/** Spends a recovery code: true once, false for a code that is unknown or already used. */
export async function spendRecoveryCode(db: D1Database, adminId: string, hash: string, now: number): Promise<boolean> {
  const result = await db
    .prepare("UPDATE admin_recovery_codes SET used_at = ? WHERE admin_id = ? AND code_hash = ? AND used_at IS NULL")
    .bind(now, adminId, hash)
    .run();
  return result.meta.changes === 1;
}

export async function factorSummary(db: D1Database, adminId: string): Promise<FactorSummary> {
  const row = await db
    .prepare(
      `SELECT (SELECT COUNT(*) FROM admin_totp WHERE admin_id = ?1 AND confirmed_at IS NOT NULL) AS totp,
              (SELECT COUNT(*) FROM admin_passkeys WHERE admin_id = ?1) AS passkeys,
              (SELECT COUNT(*) FROM admin_recovery_codes WHERE admin_id = ?1 AND used_at IS NULL) AS codes`,
    )
    .bind(adminId)
    .first<{ totp: number; passkeys: number; codes: number }>();
  return { totp: (row?.totp ?? 0) > 0, passkeys: row?.passkeys ?? 0, recoveryCodesLeft: row?.codes ?? 0 };
}

export function insertPasskey(db: D1Database, row: PasskeyRow): D1PreparedStatement {
  return db
    .prepare("INSERT INTO admin_passkeys (id, admin_id, public_key, counter, transports, name, created_at, last_used_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
    .bind(row.id, row.admin_id, row.public_key, row.counter, row.transports, row.name, row.created_at, row.last_used_at);
}

export async function passkeysOf(db: D1Database, adminId: string): Promise<PasskeyRow[]> {
  return (await db.prepare("SELECT * FROM admin_passkeys WHERE admin_id = ? ORDER BY created_at, id").bind(adminId).all<PasskeyRow>()).results;
}

export function getPasskey(db: D1Database, id: string): Promise<PasskeyRow | null> {
  return db.prepare("SELECT * FROM admin_passkeys WHERE id = ?").bind(id).first<PasskeyRow>();
}

/**
 * Records a use with the authenticator's new signature counter, only if the counter is still the
 * one the check read: of two concurrent uses of one signature, one fails.
 */
export async function recordPasskeyUse(db: D1Database, row: PasskeyRow, counter: number, now: number): Promise<boolean> {
  const result = await db
    .prepare("UPDATE admin_passkeys SET counter = ?, last_used_at = ? WHERE id = ? AND counter = ?")
    .bind(counter, now, row.id, row.counter)
    .run();
  return result.meta.changes === 1;
}

/** Every factor of an admin (the admin is deleted, or an owner resets them). */
export function deleteFactorsOf(db: D1Database, adminId: string): D1PreparedStatement[] {
  return [deleteTotp(db, adminId), deleteRecoveryCodes(db, adminId), db.prepare("DELETE FROM admin_passkeys WHERE admin_id = ?").bind(adminId)];
}
