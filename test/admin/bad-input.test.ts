import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ADMIN_TOKEN, admin, createTenant } from "../support/client";
import { expectError, failingFields, json, rawAdmin, storedState } from "./support";

/** Bad input gets 400 invalid_request naming what failed, and leaves every table as it was. */

const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
const SQLISH = [`'; DROP TABLE api_keys; --`, `Robert'); DELETE FROM tenants; --`, `" OR 1=1 --`, "\\'; SELECT * FROM admins; /*", "100% _wild_ %"];

describe("SQL metacharacters", () => {
  it("are stored and returned literally in tenant and key names and descriptions", async () => {
    for (const text of SQLISH) {
      const tenant = await json<{ id: string; name: string }>(await admin("POST", "/tenants", { name: text }), 201);
      expect(tenant.name).toBe(text);
      const key = await json<{ id: string; name: string; description: string }>(
        await admin("POST", "/keys", { tenant_id: tenant.id, name: text, description: text }),
        201,
      );
      expect(key).toMatchObject({ name: text, description: text });
      const patched = await json<{ name: string }>(await admin("PATCH", `/keys/${key.id}`, { name: `${text} (2)` }), 200);
      expect(patched.name).toBe(`${text} (2)`);
      expect(await env.DB.prepare("SELECT name FROM tenants WHERE id = ?").bind(tenant.id).first("name")).toBe(text);
      expect(await env.DB.prepare("SELECT description FROM api_keys WHERE id = ?").bind(key.id).first("description")).toBe(text);
    }
    // Every table is still there and still holds its rows.
    for (const table of ["tenants", "api_keys", "admins", "audit_events"]) {
      expect(await env.DB.prepare(`SELECT COUNT(*) AS n FROM ${table}`).first("n"), table).toBeTypeOf("number");
    }
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM tenants").first<number>("n")).toBeGreaterThanOrEqual(SQLISH.length);
  });

  it("in ids are refused by shape, before any query", async () => {
    expect(await failingFields(await admin("GET", `/keys/${encodeURIComponent("key_1' OR '1'='1")}`))).toEqual(["id"]);
    expect(await failingFields(await admin("GET", `/tenants/${encodeURIComponent("ten_1; DROP TABLE tenants")}`))).toEqual(["id"]);
  });
});

describe("malformed bodies", () => {
  it("refuse unknown fields, top-level and nested, naming them", async () => {
    const tenant = await createTenant("Strict");
    const before = await storedState();
    const res = await admin("POST", "/keys", { tenant_id: tenant.id, admin: true });
    const error = await expectError(res, 400, "invalid_request");
    expect(error.error.details).toEqual({ fields: [{ field: "body", message: expect.any(String), unknown: ["admin"] }] });
    expect(await failingFields(await admin("POST", "/keys", { tenant_id: tenant.id, rate_limit: { limit: 5, window_seconds: 5, burst: 10 } }))).toEqual(["rate_limit"]);
    expect(await failingFields(await admin("POST", "/tenants", { name: "x", status: "suspended" }))).toEqual(["body"]);
    expect(await storedState()).toEqual(before);
  });

  it("refuse wrong types and out-of-range values, naming each field", async () => {
    const tenant = await createTenant("Types");
    const before = await storedState();
    const create = async (body: unknown) => failingFields(await admin("POST", "/keys", body));
    expect(await create({ tenant_id: 42 })).toEqual(["tenant_id"]);
    expect(await create({ tenant_id: tenant.id, scopes: "read" })).toEqual(["scopes"]);
    // Scopes compare exactly, so a wildcard inside one, or capitals, would be a scope nothing needs.
    expect(await create({ tenant_id: tenant.id, scopes: ["servers:*"] })).toEqual(["scopes.0"]);
    expect(await create({ tenant_id: tenant.id, scopes: ["read", "Write"] })).toEqual(["scopes.1"]);
    expect(await create({ tenant_id: tenant.id, environment: "prod" })).toEqual(["environment"]);
    expect(await create({ tenant_id: tenant.id, expires_at: 1_900_000_000_000 })).toEqual(["expires_at"]);
    expect(await create({ tenant_id: tenant.id, rate_limit: { limit: "60", window_seconds: 60 } })).toEqual(["rate_limit.limit"]);
    expect(await create({ tenant_id: tenant.id, rate_limit: { limit: 1, window_seconds: 31 * 86_400 + 1 } })).toEqual(["rate_limit.window_seconds"]);
    expect(await create({ tenant_id: tenant.id, rate_limit: { limit: 10_000_001, window_seconds: 60 } })).toEqual(["rate_limit.limit"]);
    expect(await create({ tenant_id: tenant.id, scopes: Array.from({ length: 51 }, (_, i) => `s${i}`) })).toEqual(["scopes"]);
    expect(await create({ tenant_id: tenant.id, name: 5, environment: 1 })).toEqual(["name", "environment"]);
    expect(await create([tenant.id])).toEqual(["body"]);
    expect(await create(null)).toEqual(["body"]);
    expect(await storedState()).toEqual(before);
  });

  it("refuse a body that is not JSON, or not declared as JSON", async () => {
    const before = await storedState();
    const post = (body: BodyInit | undefined, headers: Record<string, string>) => rawAdmin("POST", "/tenants", { headers: { ...auth, ...headers }, body });
    expect(await failingFields(await post('{"name": "half', { "content-type": "application/json" }))).toEqual(["body"]);
    expect(await failingFields(await post("", { "content-type": "application/json" }))).toEqual(["body"]);
    expect(await failingFields(await post("name=x", { "content-type": "application/x-www-form-urlencoded" }))).toEqual(["content-type"]);
    expect(await failingFields(await post('{"name":"x"}', { "content-type": "text/plain" }))).toEqual(["content-type"]);
    expect(await failingFields(await post('{"name":"x"}', {}))).toEqual(["content-type"]);
    expect(await storedState()).toEqual(before);
  });

  it("refuse bodies over 64 KB, with or without a content-length", async () => {
    const before = await storedState();
    const big = JSON.stringify({ name: "x".repeat(70 * 1024) });
    await expectError(await rawAdmin("POST", "/tenants", { headers: { ...auth, "content-type": "application/json" }, body: big }), 413, "payload_too_large");
    const bytes = new TextEncoder().encode(big);
    const chunked = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 8192) controller.enqueue(bytes.slice(i, i + 8192));
        controller.close();
      },
    });
    const res = await rawAdmin("POST", "/tenants", { headers: { ...auth, "content-type": "application/json" }, body: chunked });
    await expectError(res, 413, "payload_too_large");
    expect(await storedState()).toEqual(before);
  });
});
