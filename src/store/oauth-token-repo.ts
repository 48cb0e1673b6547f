import type { Grant } from "../authority/oauth";
import { GRANT_COLUMNS, grantFromRow, type GrantRow } from "./oauth-grant-repo";

/** Access and refresh tokens, and authorization codes: stored only as SHA-256 hashes. */

export type StoredTokenKind = "access" | "refresh";

export interface NewToken {
  hash: string;
  kind: StoredTokenKind;
  grantId: string;
  clientId: string;
  expiresAt: number;
  createdAt: number;
}

export function insertToken(db: D1Database, t: NewToken): D1PreparedStatement {
  return db
    .prepare("INSERT INTO oauth_tokens (token_hash, kind, grant_id, client_id, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?)")
    .bind(t.hash, t.kind, t.grantId, t.clientId, t.expiresAt, t.createdAt);
}

/** A token with its grant, as one D1 read finds it. */
export interface StoredToken {
  kind: StoredTokenKind;
  clientId: string;
  expiresAt: number;
  usedAt: number | null;
  grant: Grant;
}

type TokenRow = GrantRow & { kind: StoredTokenKind; token_client_id: string; expires_at: number; used_at: number | null };

export async function getToken(db: D1Database, hash: string): Promise<StoredToken | null> {
  const row = await db
    .prepare(
      `SELECT o.kind, o.client_id AS token_client_id, o.expires_at, o.used_at, ${GRANT_COLUMNS}
       FROM oauth_tokens o JOIN oauth_grants g ON g.id = o.grant_id JOIN tenants t ON t.id = g.tenant_id WHERE o.token_hash = ?`,
    )
    .bind(hash)
    .first<TokenRow>();
  if (!row) return null;
  return { kind: row.kind, clientId: row.token_client_id, expiresAt: row.expires_at, usedAt: row.used_at, grant: grantFromRow(row) };
}

/** Marks a refresh token exchanged; changes no row if it already was (a second use). */
export function markRefreshUsed(db: D1Database, hash: string, now: number): D1PreparedStatement {
  return db.prepare("UPDATE oauth_tokens SET used_at = ? WHERE token_hash = ? AND kind = 'refresh' AND used_at IS NULL").bind(now, hash);
}

/** A grant's tokens that can no longer be used at all. */
export function pruneExpiredTokens(db: D1Database, grantId: string, now: number): D1PreparedStatement {
  return db.prepare("DELETE FROM oauth_tokens WHERE grant_id = ? AND expires_at <= ?").bind(grantId, now);
}

/** A completed authorization request: approved (a code) or denied (no code). */
export interface StoredCode {
  requestId: string;
  codeHash: string | null;
  clientId: string;
  tenantId: string | null;
  subject: string | null;
  scopes: string[] | null;
  redirectUri: string;
  codeChallenge: string;
  grantId: string | null;
  expiresAt: number;
  createdAt: number;
  usedAt: number | null;
}

export function insertCode(db: D1Database, c: Omit<StoredCode, "usedAt">): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO oauth_codes (request_id, code_hash, client_id, tenant_id, subject, scopes, redirect_uri, code_challenge, grant_id, expires_at, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .bind(
      c.requestId,
      c.codeHash,
      c.clientId,
      c.tenantId,
      c.subject,
      c.scopes === null ? null : JSON.stringify(c.scopes),
      c.redirectUri,
      c.codeChallenge,
      c.grantId,
      c.expiresAt,
      c.createdAt,
    );
}

type CodeRow = {
  request_id: string;
  code_hash: string | null;
  client_id: string;
  tenant_id: string | null;
  subject: string | null;
  scopes: string | null;
  redirect_uri: string;
  code_challenge: string;
  grant_id: string | null;
  expires_at: number;
  created_at: number;
  used_at: number | null;
};

export async function getCodeByHash(db: D1Database, hash: string): Promise<StoredCode | null> {
  const row = await db.prepare("SELECT * FROM oauth_codes WHERE code_hash = ?").bind(hash).first<CodeRow>();
  if (!row) return null;
  return {
    requestId: row.request_id,
    codeHash: row.code_hash,
    clientId: row.client_id,
    tenantId: row.tenant_id,
    subject: row.subject,
    scopes: row.scopes === null ? null : (JSON.parse(row.scopes) as string[]),
    redirectUri: row.redirect_uri,
    codeChallenge: row.code_challenge,
    grantId: row.grant_id,
    expiresAt: row.expires_at,
    createdAt: row.created_at,
    usedAt: row.used_at,
  };
}

/** Marks a code exchanged; changes no row if it already was (a second use). */
export function markCodeUsed(db: D1Database, hash: string, now: number): D1PreparedStatement {
  return db.prepare("UPDATE oauth_codes SET used_at = ? WHERE code_hash = ? AND used_at IS NULL").bind(now, hash);
}

/** Completed requests whose code expired before `before`: none of them can be completed or exchanged again. */
export function pruneCodes(db: D1Database, before: number): D1PreparedStatement {
  // A used code stays while the grant it issued is live: presented again, however late, it ends that grant.
  return db
    .prepare(
      `DELETE FROM oauth_codes WHERE expires_at < ?
         AND (used_at IS NULL OR NOT EXISTS (SELECT 1 FROM oauth_grants g WHERE g.id = oauth_codes.grant_id AND g.revoked_at IS NULL))`,
    )
    .bind(before);
}
