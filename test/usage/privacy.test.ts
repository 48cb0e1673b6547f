import { env } from "cloudflare:workers";
import { listDurableObjectIds, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ADMIN_TOKEN, admin, createKey, createTenant, uniqueIp } from "../support/client";
import { json } from "../admin/support";
import { basic, callWorker, unknownKey } from "../gateway/helpers";
import { authorizeAndExchange, registerClient } from "../oauth/support";
import { failedAttempts, forwardNow, keyEvents, keyUsage } from "./support";
import { runDueWrite } from "../ratelimit/support";
import type { AttemptGuard } from "../../src/guards/attempt-guard";
import type { KeyGuard } from "../../src/guards/key-guard";

/**
 * Every row of every table of every object of a namespace, as text, once each object has written
 * what it counted in memory (its timer's write, run now rather than waited for).
 */
async function objectStorageText<T extends KeyGuard | AttemptGuard>(namespace: DurableObjectNamespace<T>): Promise<string> {
  const texts: string[] = [];
  for (const id of await listDurableObjectIds(namespace)) {
    const stub = namespace.get(id);
    await runDueWrite(stub);
    texts.push(
      await runInDurableObject(stub, (_instance, state) => {
        const sql = state.storage.sql;
        const tables = sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\'").toArray();
        return JSON.stringify(tables.map(({ name }) => sql.exec(`SELECT * FROM "${name}"`).toArray()));
      }),
    );
  }
  return texts.join("\n");
}

async function d1Text(): Promise<string> {
  const tables = await env.DB.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'").all<{ name: string }>();
  const rows = [];
  for (const { name } of tables.results) rows.push((await env.DB.prepare(`SELECT * FROM "${name}"`).all()).results);
  return JSON.stringify(rows);
}

describe("what is recorded never holds a key, an Authorization value or a query", () => {
  it("no object and no D1 row contains the key, even one sent in the path, the query or the user agent", async () => {
    const key = await createKey({ scopes: ["read"] });
    const ip = uniqueIp();
    const probe = unknownKey();
    const sends: [string, Record<string, string>, string?][] = [
      [`/x/${key.key}?api_key=${key.key}`, { "x-api-key": key.key, "user-agent": `curl ${key.key}` }],
      ["/y?q=1", { authorization: `Bearer ${key.key}` }],
      ["/z", { authorization: basic(key.key) }, "POST"],
      [`/w?k=${probe}`, { "x-api-key": probe }],
    ];
    for (const [path, headers, method] of sends) {
      const res = await callWorker(path, { method: method ?? "GET", headers: { ...headers, "cf-connecting-ip": ip } });
      await res.body?.cancel();
    }
    expect((await keyEvents(key.id)).map((e) => e.path)).toEqual(["/z", "/y", "/x/kg_live_…"]);
    await forwardNow(key.id);
    const stored = [await objectStorageText(env.KEY_GUARD), await objectStorageText(env.ATTEMPT_GUARD), await d1Text()].join("\n");
    // Not vacuous: the records are in there.
    expect(stored).toContain("/x/kg_live_…");
    expect(stored).toContain(`${probe.slice(0, 12)}…`);
    for (const secret of [key.key, probe, basic(key.key), "api_key=", "q=1", "k=kg"]) expect(stored).not.toContain(secret);
  });
});

describe("what is recorded never holds an OAuth token either", () => {
  it("an access or refresh token sent in the path or the user agent is stored cut, like a key", async () => {
    const app = await registerClient({ scopes: ["read"] });
    const tenant = await createTenant("Privacy users");
    const tokens = await authorizeAndExchange(app, { tenant_id: tenant.id, subject: "user_private", scopes: ["read"] });
    const res = await callWorker(`/t/${tokens.access_token}/${tokens.refresh_token}`, {
      headers: { authorization: `Bearer ${tokens.access_token}`, "user-agent": `app ${tokens.refresh_token}`, "cf-connecting-ip": uniqueIp() },
    });
    expect(res.status).toBe(200);
    await res.body?.cancel();
    await forwardNow(tokens.grantId);
    const stored = [await objectStorageText(env.KEY_GUARD), await d1Text()].join("\n");
    expect(stored).toContain("/t/kg_at_…/kg_rt_…");
    expect(stored).toContain("app kg_rt_…");
    for (const secret of [tokens.access_token, tokens.refresh_token!]) expect(stored).not.toContain(secret);
  });
});

describe("LOG_CLIENT_IPS=false", () => {
  it("stores no client address: not in the key's events or last use, and no failures per address", async () => {
    const key = await createKey();
    const ip = "203.0.113.77";
    const noIps = { LOG_CLIENT_IPS: "false" };
    const ok = await callWorker("/private", { headers: { "x-api-key": key.key, "cf-connecting-ip": ip }, cf: { country: "NL" } }, noIps);
    expect(ok.status).toBe(200);
    await ok.body?.cancel();
    const refused = await callWorker("/private", { headers: { "x-api-key": unknownKey(), "cf-connecting-ip": ip } }, noIps);
    expect(refused.status).toBe(401);
    await refused.body?.cancel();

    const [event] = await keyEvents(key.id);
    expect(event).toMatchObject({ ip: null, country: "NL", path: "/private" });
    expect(await keyUsage(key.id)).toMatchObject({ last_used_ip: null, last_used_country: "NL" });
    expect((await failedAttempts(ip)).data).toEqual([]);
    const stored = [await objectStorageText(env.KEY_GUARD), await objectStorageText(env.ATTEMPT_GUARD)].join("\n");
    expect(stored).not.toContain(ip);

    // The default keeps it.
    const logged = await callWorker("/private", { headers: { "x-api-key": key.key, "cf-connecting-ip": ip } });
    await logged.body?.cancel();
    expect((await keyEvents(key.id))[0]!.ip).toBe(ip);
  });

  /** An admin API call with the setting off, from `ip`. */
  const withoutIps = (path: string, ip: string, init: { method?: string; headers?: Record<string, string>; body?: unknown } = {}) =>
    callWorker(
      `/_keygate/v1${path}`,
      {
        method: init.method ?? (init.body === undefined ? "GET" : "POST"),
        headers: { "cf-connecting-ip": ip, ...(init.body === undefined ? {} : { "content-type": "application/json" }), ...init.headers },
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
      },
      { LOG_CLIENT_IPS: "false", SIGNIN_LIMIT_PER_EMAIL: "2" },
    );

  it("the audit trail names no address: failed sign-ins and password changes, and the start of a block", async () => {
    const email = `privacy-${crypto.randomUUID()}@example.com`;
    const created = await json<{ id: string }>(await admin("POST", "/admins", { email, password: "correct horse battery", role: "viewer" }), 201);
    const ip = "203.0.113.78";
    const wrong = { grant_type: "password", email, password: "not the password" };
    const signedIn = await json<{ access_token: string }>(await withoutIps("/signins", ip, { body: { ...wrong, password: "correct horse battery" } }), 200);
    const requests = [
      await withoutIps("/signins", ip, { body: wrong }),
      await withoutIps("/sessions", ip, { body: { email, password: "not the password" }, headers: { "x-keygate-csrf": "1" } }),
      await withoutIps("/account/password", ip, {
        body: { current_password: "not the password", new_password: "a brand new passphrase" },
        headers: { authorization: `Bearer ${signedIn.access_token}` },
      }),
    ];
    expect(requests.map((res) => res.status)).toEqual([401, 401, 429]);
    const events = [];
    for (const res of requests) {
      const page = await json<{ data: { action: string; actor: { type: string; id: string }; details: Record<string, unknown> }[] }>(
        await admin("GET", `/audit-events?request_id=${res.headers.get("x-request-id")}`),
        200,
      );
      events.push(...page.data);
    }
    // Not vacuous: each refusal is recorded, by who made it, just without the address.
    expect(events.map((e) => [e.action, e.actor.type, e.actor.id])).toEqual([
      ["signin.failed", "client", "unknown"],
      ["signin.failed", "client", "unknown"],
      ["signin.throttled", "admin", created.id],
    ]);
    for (const event of events) expect(event.details).not.toHaveProperty("ip");
    expect(await d1Text()).not.toContain(ip);
  });

  it("a verification over HTTP records the key's use without the calling service's address", async () => {
    const key = await createKey();
    const ip = "203.0.113.79";
    const res = await withoutIps("/keys/verify", ip, { body: { key: key.key, path: "/reports" }, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(((await res.json()) as { valid: boolean }).valid).toBe(true);
    const events = await keyEvents(key.id);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ carrier: "verify", path: "/reports", ip: null });
  });

  it("no stored record holds the address, whatever the client did: keys, self-service, sign-ins, console sessions", async () => {
    const ip = "203.0.113.80";
    const key = await createKey({ scopes: ["read", "keys:manage"] });
    const email = `privacy-${crypto.randomUUID()}@example.com`;
    await json(await admin("POST", "/admins", { email, password: "correct horse battery", role: "viewer" }), 201);
    const sends: Promise<Response>[] = [
      callWorker("/private", { headers: { "x-api-key": key.key, "cf-connecting-ip": ip } }, { LOG_CLIENT_IPS: "false" }),
      callWorker("/private", { headers: { "x-api-key": unknownKey(), "cf-connecting-ip": ip } }, { LOG_CLIENT_IPS: "false" }),
      withoutIps("/keys", ip, { headers: { "x-api-key": key.key } }),
      withoutIps("/keys", ip, { headers: { "x-api-key": unknownKey() } }),
      withoutIps("/tenants", ip, { headers: { authorization: "Bearer not-the-root-token" } }),
      withoutIps("/sessions", ip, { body: { email, password: "correct horse battery" }, headers: { "x-keygate-csrf": "1" } }),
      withoutIps("/signins", ip, { body: { grant_type: "password", email, password: "wrong" } }),
    ];
    const statuses = [];
    for (const send of sends) {
      const res = await send;
      statuses.push(res.status);
      await res.body?.cancel();
    }
    expect(statuses).toEqual([200, 401, 200, 401, 401, 200, 401]);
    expect(await keyEvents(key.id)).toHaveLength(2);
    await forwardNow(key.id);
    const stored = [await objectStorageText(env.KEY_GUARD), await objectStorageText(env.ATTEMPT_GUARD), await d1Text()].join("\n");
    // Not vacuous: the records are there (the key's events, the session, the failed sign-in).
    expect(stored).toContain(key.id);
    expect(stored).toContain(email);
    expect(stored).not.toContain(ip);
  });

  it("is validated like every setting", async () => {
    const res = await callWorker("/x", { headers: { "x-api-key": unknownKey() } }, { LOG_CLIENT_IPS: "maybe" });
    expect(res.status).toBe(500);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("configuration_error");
  });
});

describe("verifications are recorded with the carrier verify", () => {
  it("over HTTP: the method and path asked about, without the query", async () => {
    const key = await createKey();
    await json(await admin("POST", "/keys/verify", { key: key.key, method: "delete", path: "/servers/9?force=1" }), 200);
    await json(await admin("POST", "/keys/verify", { key: key.key }), 200);
    expect((await keyEvents(key.id)).map((e) => [e.carrier, e.method, e.path, e.code])).toEqual([
      ["verify", null, null, "valid"],
      ["verify", "DELETE", "/servers/9", "insufficient_permissions"],
    ]);
  });
});
