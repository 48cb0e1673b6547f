-- Admins may have the role 'verifier' (may verify keys, nothing else). SQLite cannot change a
-- CHECK constraint in place, so the table is rebuilt with the same columns, rows and indexes.
-- Safe while the previous release serves: it reads and writes exactly these columns.
CREATE TABLE admins_next (
  id                 TEXT PRIMARY KEY,
  email              TEXT NOT NULL,
  role               TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'viewer', 'verifier')),
  password_hash      TEXT NOT NULL,
  password_salt      TEXT NOT NULL,
  password_iterations INTEGER NOT NULL,
  created_at         INTEGER NOT NULL,
  updated_at         INTEGER NOT NULL,
  last_signin_at     INTEGER,
  session_epoch      INTEGER NOT NULL DEFAULT 0
);
INSERT INTO admins_next (id, email, role, password_hash, password_salt, password_iterations, created_at, updated_at, last_signin_at, session_epoch)
  SELECT id, email, role, password_hash, password_salt, password_iterations, created_at, updated_at, last_signin_at, session_epoch FROM admins;
DROP TABLE admins;
ALTER TABLE admins_next RENAME TO admins;
CREATE UNIQUE INDEX admins_email ON admins (email);
CREATE INDEX admins_created ON admins (created_at, id);
