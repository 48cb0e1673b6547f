import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { evictDurableObject, listDurableObjectIds, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { hashKey } from "../../src/keys/hash";
import { createServices } from "../../src/services";
import { ATTEMPT_GUARD_STORAGE, KEY_GUARD_STORAGE } from "../../src/object-storage/steps";
import { storageVersion } from "../../src/object-storage/versions";
import { PASSWORD, signin, uniqueEmail } from "../admin/support";
import { admin, gateway, uniqueIp, withKey, type Created } from "../support/client";
import { RELEASE_0_1_0_TABLES, rewriteAsReleaseZero } from "../support/release-zero";
import { runDueWrite } from "../ratelimit/support";
import { systemClock } from "../../src/clock";
import { applyMigrations, databaseAsOfMigration, dumpDatabase, emptyDatabase } from "../support/schema";

// Upgrading a deployment of the current release keeps every row and changes no answer. A
// deployment is filled through the admin API (tenants, keys in every state, admins of every role,
// the audit trail, a key mid-window), then turned into what release 0.1.0 would have stored: a
// database made by migrations/0001 alone and Durable Objects in 0.1.0's storage layout. Then every
// later migration and every object upgrade runs, and each key is answered, each admin signed in,
// exactly as before. Written for whatever migrations exist, so it keeps proving this as later
// releases add them.

const RELEASE_0_1_0_MIGRATIONS = 1;

async function json<T>(res: Response, status: number): Promise<T> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  return JSON.parse(text) as T;
}

/**
 * Drops every copy of these keys that this isolate and KV hold, so the next request looks each key
 * up in D1 and asks its object: the answers then come from the stored data alone.
 */
async function forgetCaches(keys: Created[]) {
  // The worker's own cache-dropping (the admin API uses it after a revoke), so no tier is missed.
  const { keys: store } = createServices(env, createExecutionContext());
  for (const key of keys) await store.forget(await hashKey(key.key));
}

/** One request per key and round, so each key's window moves only by its own probe. */
interface Probe {
  name: string;
  key: Created;
  method?: string;
}

interface Answer {
  status: number;
  code: string | null;
  limit: string | null;
  remaining: string | null;
  reset: string | null;
}

async function answers(probes: Probe[]): Promise<Record<string, Answer>> {
  await forgetCaches(probes.map((p) => p.key));
  const out: Record<string, Answer> = {};
  for (const probe of probes) {
    const res = await gateway("/upgrade-probe", withKey(probe.key.key, uniqueIp(), { method: probe.method ?? "GET" }));
    const body = res.status === 200 ? (await res.body?.cancel(), null) : ((await res.json()) as { error: { code: string } });
    out[probe.name] = {
      status: res.status,
      code: body?.error.code ?? null,
      limit: res.headers.get("x-ratelimit-limit"),
      remaining: res.headers.get("x-ratelimit-remaining"),
      reset: res.headers.get("x-ratelimit-reset"),
    };
  }
  return out;
}

/** The usage release 0.1.0 kept (its counters and last use); later records start with the upgrade. */
async function usages(probes: Probe[]) {
  const out: Record<string, unknown> = {};
  for (const { name, key } of probes) {
    const { object, key_id, requests, rate_limited, last_used_at } = await json<Record<string, unknown>>(await admin("GET", `/keys/${key.id}/usage`), 200);
    out[name] = { object, key_id, requests, rate_limited, last_used_at };
  }
  return out;
}

async function signinStatuses(admins: Record<string, string>) {
  const out: Record<string, number> = {};
  for (const [name, email] of Object.entries(admins)) {
    const res = await signin({ grant_type: "password", email, password: PASSWORD });
    await res.body?.cancel();
    out[name] = res.status;
  }
  return out;
}

/** Every object of one class, by the ids its namespace has handed out. */
async function objectsOf<T extends Rpc.DurableObjectBranded>(namespace: DurableObjectNamespace<T>) {
  return (await listDurableObjectIds(namespace)).map((id) => namespace.get(id));
}

/** Every Durable Object of both classes, rewritten into release 0.1.0's storage layout and restarted. */
async function objectsAsReleaseZero(): Promise<number> {
  const restart = async (stub: DurableObjectStub, tables: Record<string, string>) => {
    const version = await runInDurableObject(stub, (_instance, state) => {
      rewriteAsReleaseZero(state.storage.sql, tables);
      return storageVersion(state.storage.sql);
    });
    expect(version).toBe(0);
    await evictDurableObject(stub);
  };
  const keyGuards = await objectsOf(env.KEY_GUARD);
  const attemptGuards = await objectsOf(env.ATTEMPT_GUARD);
  for (const stub of keyGuards) {
    await runDueWrite(stub);
    await restart(stub, RELEASE_0_1_0_TABLES.KeyGuard);
  }
  for (const stub of attemptGuards) {
    await runDueWrite(stub);
    await restart(stub, RELEASE_0_1_0_TABLES.AttemptGuard);
  }
  return keyGuards.length + attemptGuards.length;
}

/** The storage versions found across all objects of each class. */
async function objectVersions() {
  const versions = new Set<string>();
  const versionOf = (stub: DurableObjectStub) => runInDurableObject(stub, (_instance, state) => storageVersion(state.storage.sql));
  for (const stub of await objectsOf(env.KEY_GUARD)) versions.add(`KeyGuard:${await versionOf(stub)}`);
  for (const stub of await objectsOf(env.ATTEMPT_GUARD)) versions.add(`AttemptGuard:${await versionOf(stub)}`);
  return [...versions].sort();
}

/** Each row of `before` still there, same values in every column it had (later migrations only add). */
function expectRowsKept(before: Record<string, unknown>, after: Record<string, unknown>) {
  for (const [table, rows] of Object.entries(before)) {
    if (table === "sqlite_master" || table === "d1_migrations") continue;
    const now = after[table] as Record<string, unknown>[];
    const projected = now.map((row) => Object.fromEntries(Object.keys((rows as Record<string, unknown>[])[0] ?? {}).map((c) => [c, row[c]])));
    expect(projected, table).toEqual(rows);
  }
}

describe("upgrading a release 0.1.0 deployment", () => {
  it("every key is answered and every admin signs in exactly as before, with windows and counters intact", async () => {
    // Filled through the admin API.
    await emptyDatabase(env.DB);
    await applyMigrations(env.DB, env.TEST_MIGRATIONS);
    const tenant = await json<{ id: string }>(await admin("POST", "/tenants", { name: "Upgraded" }), 201);
    const paused = await json<{ id: string }>(await admin("POST", "/tenants", { name: "Suspended before the upgrade" }), 201);
    const create = async (fields: Record<string, unknown>) =>
      json<Created>(await admin("POST", "/keys", { tenant_id: tenant.id, rate_limit: { limit: 10, window_seconds: 3600 }, ...fields }), 201);
    const midWindow = await create({ name: "mid-window" });
    const exhausted = await create({ name: "exhausted", rate_limit: { limit: 2, window_seconds: 3600 } });
    const readOnly = await create({ name: "read only", scopes: ["read"] });
    const readOnlyWriting = await create({ name: "read only, used to write", scopes: ["read"] });
    const testEnv = await create({ name: "test environment", environment: "test" });
    const expiring = await create({ name: "expires", expires_at: new Date(systemClock.now() + 60_000).toISOString() });
    const revoked = await create({ name: "revoked" });
    const deleted = await create({ name: "deleted" });
    const rotated = await create({ name: "rotated" });
    const suspended = await create({ name: "tenant suspended", tenant_id: paused.id });
    await json(await admin("POST", `/keys/${revoked.id}/revoke`), 200);
    expect((await admin("DELETE", `/keys/${deleted.id}`)).status).toBe(204);
    const successor = await json<Created>(await admin("POST", `/keys/${rotated.id}/rotate`, { grace_seconds: 3600 }), 201);
    await json(await admin("PATCH", `/tenants/${paused.id}`, { status: "suspended" }), 200);

    const admins: Record<string, string> = {};
    for (const role of ["owner", "admin", "viewer"] as const) {
      admins[role] = uniqueEmail(role);
      await json(await admin("POST", "/admins", { email: admins[role], password: PASSWORD, role }), 201);
    }
    // An admin locked out by failed sign-ins (counted by AttemptGuard objects) stays locked out.
    admins.locked = uniqueEmail("locked");
    await json(await admin("POST", "/admins", { email: admins.locked, password: PASSWORD, role: "viewer" }), 201);
    for (let i = 0; i < 10; i++) {
      const res = await signin({ grant_type: "password", email: admins.locked, password: "not the password at all" });
      expect(res.status).toBe(401);
      await res.body?.cancel();
    }

    // Use the keys: one mid-window, one over its limit.
    for (let i = 0; i < 4; i++) {
      for (const key of [midWindow, exhausted]) {
        const res = await gateway("/fill", withKey(key.key, uniqueIp()));
        await res.body?.cancel();
      }
    }
    // Past the expiry, without waiting for it.
    systemClock.advance(Date.parse(expiring.expires_at as string) - systemClock.now() + 1);

    const probes: Probe[] = [
      { name: "mid-window", key: midWindow },
      { name: "exhausted", key: exhausted },
      { name: "read only, reading", key: readOnly },
      { name: "read only, writing", key: readOnlyWriting, method: "POST" },
      { name: "test environment", key: testEnv },
      { name: "expired", key: expiring },
      { name: "revoked", key: revoked },
      { name: "deleted", key: deleted },
      { name: "rotated, in grace", key: rotated },
      { name: "successor", key: successor },
      { name: "tenant suspended", key: suspended },
    ];
    const before = await answers(probes);
    // Not vacuous: the probes cover every answer a key can get.
    expect(Object.fromEntries(Object.entries(before).map(([name, a]) => [name, a.code ?? a.status]))).toEqual({
      "mid-window": 200,
      exhausted: "rate_limit_exceeded",
      "read only, reading": 200,
      "read only, writing": "insufficient_permissions",
      "test environment": 200,
      expired: "expired_key",
      revoked: "revoked_key",
      deleted: "invalid_key",
      "rotated, in grace": 200,
      successor: 200,
      "tenant suspended": "tenant_inactive",
    });
    expect(before["mid-window"]!.remaining).toBe("5");
    const usageBefore = await usages(probes);
    const signinsBefore = await signinStatuses(admins);
    expect(signinsBefore).toEqual({ owner: 200, admin: 200, viewer: 200, locked: 429 });
    const audit = await env.DB.prepare("SELECT action, count(*) AS n FROM audit_events GROUP BY action ORDER BY action").all();
    expect(audit.results.map((r) => r.action)).toEqual(expect.arrayContaining(["key.created", "key.revoked", "key.deleted", "key.rotated", "admin.created", "signin.failed", "signin.throttled"]));

    // What release 0.1.0 would have stored: the database as migrations/0001 made it, every object
    // in 0.1.0's layout.
    await databaseAsOfMigration(env.DB, env.TEST_MIGRATIONS, RELEASE_0_1_0_MIGRATIONS);
    const recorded = await env.DB.prepare("SELECT name FROM d1_migrations").all<{ name: string }>();
    expect(recorded.results.map((r) => r.name)).toEqual(["0001_initial.sql"]);
    const stored = await dumpDatabase(env.DB);
    expect(await objectsAsReleaseZero()).toBeGreaterThan(probes.length);

    // The upgrade: every later migration, twice.
    await applyMigrations(env.DB, env.TEST_MIGRATIONS);
    const upgraded = await dumpDatabase(env.DB);
    await applyMigrations(env.DB, env.TEST_MIGRATIONS);
    expect(await dumpDatabase(env.DB)).toEqual(upgraded);
    const applied = await env.DB.prepare("SELECT name FROM d1_migrations ORDER BY id").all<{ name: string }>();
    expect(applied.results.map((r) => r.name)).toEqual(env.TEST_MIGRATIONS.map((m) => m.name));
    expectRowsKept(stored, upgraded);

    // Each object upgrades itself when first used; its counters come back from 0.1.0's tables.
    expect(await usages(probes)).toEqual(usageBefore);
    const after = await answers(probes);
    for (const { name } of probes) {
      const was = before[name]!;
      // One more request went through each admitted key, and none expired out of a 1-hour window.
      const expected = was.status === 200 ? { ...was, remaining: String(Number(was.remaining) - 1) } : { ...was };
      // An empty window resets "now", which moves on; a window with requests in it keeps its reset.
      if (was.status !== 200 && was.remaining !== null && was.remaining === was.limit) expected.reset = expect.any(String);
      expect(after[name], name).toEqual(expected);
    }
    expect(await signinStatuses(admins)).toEqual(signinsBefore);
    expect(await objectVersions()).toEqual([`AttemptGuard:${ATTEMPT_GUARD_STORAGE.length}`, `KeyGuard:${KEY_GUARD_STORAGE.length}`]);
  });
});
