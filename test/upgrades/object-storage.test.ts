import { env } from "cloudflare:workers";
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ATTEMPT_GUARD_STORAGE, KEY_GUARD_STORAGE } from "../../src/object-storage/steps";
import { storageVersion, upgradeObjectStorage, type StorageStep } from "../../src/object-storage/versions";
import { createKey, gateway, withKey } from "../support/client";
import { runDueWrite } from "../ratelimit/support";
import { RELEASE_0_1_0_TABLES, rewriteAsReleaseZero, userTables } from "../support/release-zero";

// Each Durable Object upgrades its own storage in its constructor, from whatever version it finds.

/** A blank object to try the upgrade machinery on: its class's own tables dropped, no version. */
async function blankObject() {
  const stub = env.ATTEMPT_GUARD.getByName(`upgrade-machinery-${crypto.randomUUID()}`);
  await runInDurableObject(stub, (_instance, state) => {
    for (const name of userTables(state.storage.sql)) state.storage.sql.exec(`DROP TABLE "${name}"`);
  });
  return stub;
}

/** Steps that record that they ran, in a table of their own. */
function countingSteps(ran: number[]): StorageStep[] {
  return [
    (sql) => {
      ran.push(1);
      sql.exec("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, a TEXT NOT NULL)");
    },
    (sql) => {
      ran.push(2);
      sql.exec("ALTER TABLE t ADD COLUMN b INTEGER NOT NULL DEFAULT 7");
    },
  ];
}

describe("upgradeObjectStorage", () => {
  it("from version 0 with rows already there (a release without versions): adopts them and runs every step", async () => {
    const stub = await blankObject();
    const result = await runInDurableObject(stub, (_instance, state) => {
      const sql = state.storage.sql;
      sql.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT NOT NULL)");
      sql.exec("INSERT INTO t (id, a) VALUES (1, 'kept'), (2, 'also kept')");
      const ran: number[] = [];
      const version = upgradeObjectStorage(state.storage, countingSteps(ran));
      return { ran, version, stored: storageVersion(sql), rows: sql.exec("SELECT id, a, b FROM t ORDER BY id").toArray() };
    });
    expect(result).toEqual({
      ran: [1, 2],
      version: 2,
      stored: 2,
      rows: [
        { id: 1, a: "kept", b: 7 },
        { id: 2, a: "also kept", b: 7 },
      ],
    });
  });

  it("runs only the steps a storage has not had, and nothing the second time", async () => {
    const stub = await blankObject();
    const result = await runInDurableObject(stub, (_instance, state) => {
      const steps = countingSteps([]);
      upgradeObjectStorage(state.storage, steps.slice(0, 1)); // an object last run by a release with one step
      const ran: number[] = [];
      const first = upgradeObjectStorage(state.storage, countingSteps(ran));
      const again: number[] = [];
      const second = upgradeObjectStorage(state.storage, countingSteps(again));
      return { ran, first, again, second };
    });
    expect(result).toEqual({ ran: [2], first: 2, again: [], second: 2 });
  });

  it("a step that fails leaves the storage exactly as it was, at its old version", async () => {
    const stub = await blankObject();
    const result = await runInDurableObject(stub, (_instance, state) => {
      const sql = state.storage.sql;
      upgradeObjectStorage(state.storage, countingSteps([]).slice(0, 1));
      const failing: StorageStep = (s) => {
        s.exec("ALTER TABLE t ADD COLUMN half_done TEXT");
        throw new Error("step failed midway");
      };
      let error = "";
      try {
        upgradeObjectStorage(state.storage, [countingSteps([])[0]!, failing]);
      } catch (e) {
        error = (e as Error).message;
      }
      const columns = sql.exec<{ name: string }>("SELECT name FROM pragma_table_info('t')").toArray().map((c) => c.name);
      return { error, version: storageVersion(sql), columns };
    });
    expect(result).toEqual({ error: "step failed midway", version: 1, columns: ["id", "a"] });
  });

  it("storage from a newer release (a rolled-back deploy) is left alone", async () => {
    const stub = await blankObject();
    const result = await runInDurableObject(stub, (_instance, state) => {
      upgradeObjectStorage(state.storage, countingSteps([]));
      const ran: number[] = [];
      const version = upgradeObjectStorage(state.storage, countingSteps(ran).slice(0, 1));
      return { ran, version, stored: storageVersion(state.storage.sql) };
    });
    expect(result).toEqual({ ran: [], version: 2, stored: 2 });
  });
});

describe("keygate's objects upgrade storage written by release 0.1.0", () => {
  it("a key's object: status, window and counters carry over, at the current version", async () => {
    const key = await createKey({ rate_limit: { limit: 4, window_seconds: 600 } });
    const send = async () => {
      const res = await gateway("/object-upgrade", withKey(key.key));
      await res.body?.cancel();
      return { status: res.status, remaining: res.headers.get("x-ratelimit-remaining"), reset: res.headers.get("x-ratelimit-reset") };
    };
    const first = await send();
    expect((await send()).remaining).toBe("2");

    await runDueWrite(key.id);
    const stub = env.KEY_GUARD.getByName(key.id);
    const tables = await runInDurableObject(stub, (_instance, state) => {
      rewriteAsReleaseZero(state.storage.sql, RELEASE_0_1_0_TABLES.KeyGuard);
      return { tables: userTables(state.storage.sql).sort(), version: storageVersion(state.storage.sql) };
    });
    expect(tables).toEqual({ tables: ["guard", "hits"], version: 0 });
    await evictDurableObject(stub);

    // The next request builds the object from 0.1.0's storage.
    expect(await send()).toEqual({ status: 200, remaining: "1", reset: first.reset });
    expect(await runInDurableObject(stub, (_instance, state) => storageVersion(state.storage.sql))).toBe(KEY_GUARD_STORAGE.length);
    expect(await stub.getUsage()).toMatchObject({ requests: 3, rateLimited: 0 });

    // Upgraded storage survives the next restart unchanged: nothing runs twice.
    await runDueWrite(key.id);
    await evictDurableObject(stub);
    expect(await send()).toEqual({ status: 200, remaining: "0", reset: first.reset });
    expect((await send()).status).toBe(429);
    expect(await runInDurableObject(stub, (_instance, state) => storageVersion(state.storage.sql))).toBe(KEY_GUARD_STORAGE.length);
  });

  it("an attempt counter: a subject blocked before the upgrade stays blocked after it", async () => {
    const stub = env.ATTEMPT_GUARD.getByName(`upgrade-attempts-${crypto.randomUUID()}`);
    for (let i = 0; i < 3; i++) expect((await stub.recordAttempt(3, 600)).admitted).toBe(true);
    const blocked = await stub.recordAttempt(3, 600);
    expect(blocked.admitted).toBe(false);

    await runDueWrite(stub);
    await runInDurableObject(stub, (_instance, state) => rewriteAsReleaseZero(state.storage.sql, RELEASE_0_1_0_TABLES.AttemptGuard));
    await evictDurableObject(stub);

    const after = await stub.recordAttempt(3, 600);
    expect({ admitted: after.admitted, resetAt: after.resetAt }).toEqual({ admitted: false, resetAt: blocked.resetAt });
    expect(await runInDurableObject(stub, (_instance, state) => storageVersion(state.storage.sql))).toBe(ATTEMPT_GUARD_STORAGE.length);
  });
});
