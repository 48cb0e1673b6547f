import type { StorageStep } from "./object-storage";

/**
 * The storage upgrades of keygate's two Durable Object classes (see object-storage.ts). Append a
 * step for every change to an object's tables; never edit or remove one that has shipped, since
 * objects that ran it will not run it again. A step only adds: the release before it may still be
 * serving the same objects while a deploy rolls out, and must keep working on what the step left.
 */

/** KeyGuard (one object per key): its policy and usage counters, and its sliding log. */
export const KEY_GUARD_STORAGE: readonly StorageStep[] = [
  // 1: the tables release 0.1.0 created without recording a version. IF NOT EXISTS adopts them as
  // they are, so a key's status, window and counters carry over untouched.
  (sql) => {
    sql.exec(`CREATE TABLE IF NOT EXISTS guard (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      policy TEXT NOT NULL,
      requests INTEGER NOT NULL DEFAULT 0,
      rate_limited INTEGER NOT NULL DEFAULT 0,
      last_used_at INTEGER)`);
    // The same table SlidingLog creates for itself if missing; here so a step can build on it.
    sql.exec("CREATE TABLE IF NOT EXISTS hits (seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL)");
  },
];

/** AttemptGuard (one object per client address or email): its sliding log of attempts. */
export const ATTEMPT_GUARD_STORAGE: readonly StorageStep[] = [
  // 1: release 0.1.0's one table, adopted as it is.
  (sql) => {
    sql.exec("CREATE TABLE IF NOT EXISTS failures (seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL)");
  },
];
