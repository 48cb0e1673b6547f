/**
 * Single-use secrets (table auth_challenges): an mfa_token, a passkey challenge, a single sign-on
 * state. A row is found by the SHA-256 of its secret and spent at most once: `takeChallenge` marks
 * it used in the same statement that reads it, so of two concurrent uses one gets nothing.
 */
export type ChallengeKind = "mfa" | "passkey" | "sso";

export interface ChallengeRow {
  id: string;
  kind: ChallengeKind;
  admin_id: string | null;
  data: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

/**
 * Stores a new challenge, made `now`. Expired challenges go in the same batch as new ones come,
 * so the table holds at most a few minutes' worth.
 */
export async function storeChallenge(db: D1Database, row: Omit<ChallengeRow, "used_at" | "created_at">, now: number): Promise<void> {
  await db.batch([insertChallenge(db, { ...row, created_at: now }), pruneChallenges(db, now)]);
}

function insertChallenge(db: D1Database, row: Omit<ChallengeRow, "used_at">): D1PreparedStatement {
  return db
    .prepare("INSERT INTO auth_challenges (id, kind, admin_id, data, created_at, expires_at, used_at) VALUES (?, ?, ?, ?, ?, ?, NULL)")
    .bind(row.id, row.kind, row.admin_id, row.data, row.created_at, row.expires_at);
}

/** A challenge that is neither spent nor expired, without spending it. */
export function peekChallenge(db: D1Database, id: string, kind: ChallengeKind, now: number): Promise<ChallengeRow | null> {
  return db
    .prepare("SELECT * FROM auth_challenges WHERE id = ? AND kind = ? AND used_at IS NULL AND expires_at > ?")
    .bind(id, kind, now)
    .first<ChallengeRow>();
}

/** Spends a challenge that is neither spent nor expired: its row, or null for every other case. */
export function takeChallenge(db: D1Database, id: string, kind: ChallengeKind, now: number): Promise<ChallengeRow | null> {
  return db
    .prepare("UPDATE auth_challenges SET used_at = ? WHERE id = ? AND kind = ? AND used_at IS NULL AND expires_at > ? RETURNING *")
    .bind(now, id, kind, now)
    .first<ChallengeRow>();
}

/** Removes challenges that have expired (spent or not): none can be used any more. */
function pruneChallenges(db: D1Database, now: number): D1PreparedStatement {
  return db.prepare("DELETE FROM auth_challenges WHERE expires_at <= ?").bind(now);
}
