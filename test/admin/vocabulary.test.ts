import { env, exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { ENVIRONMENTS } from "../../src/authority/key";
import { ADMIN_ROLES } from "../../src/authority/roles";
import { DEFAULT_SCOPES } from "../../src/authority/scopes";
import { KEY_STATES } from "../../src/authority/status";
import { TENANT_STATUSES } from "../../src/authority/tenant";
import { admin, createKey, createTenant } from "../support/client";
import { BASE, expectError, json, storedState, uniqueEmail, PASSWORD } from "./support";

/**
 * Each shared vocabulary has one list (src/authority/); the stored schema, the API's document and
 * the API's answers all agree with it. The CLI's side is in test/e2e/cli.e2e.test.ts.
 */

type Schema = { enum?: string[]; items?: Schema; properties?: Record<string, Schema>; anyOf?: Schema[]; $ref?: string };
type Param = { name: string; in: string; schema: Schema };
let spec: {
  components: { schemas: Record<string, Schema> };
  paths: Record<string, Record<string, { parameters?: Param[] }>>;
};

beforeAll(async () => {
  spec = await json(await exports.default.fetch(`${BASE}/_keygate/openapi.json`), 200);
});

const property = (schema: string, name: string) => spec.components.schemas[schema]!.properties![name]!;
const queryEnum = (path: string, name: string) => spec.paths[`/_keygate/v1${path}`]!.get!.parameters!.find((p) => p.in === "query" && p.name === name)!.schema.enum;

/** The values a table's `CHECK (column IN (…))` allows, from the schema D1 actually has. */
async function allowedByTable(table: string, column: string): Promise<string[]> {
  const sql = await env.DB.prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?").bind(table).first<string>("sql");
  const list = new RegExp(`\\b${column}\\b[^,]*CHECK \\(${column} IN \\(([^)]*)\\)\\)`).exec(sql ?? "")?.[1];
  return [...(list ?? "").matchAll(/'([^']*)'/g)].map((m) => m[1]!);
}

describe("one list per vocabulary", () => {
  it("is what the stored schema allows", async () => {
    expect(await allowedByTable("admins", "role")).toEqual([...ADMIN_ROLES]);
    expect(await allowedByTable("tenants", "status")).toEqual([...TENANT_STATUSES]);
    expect(await allowedByTable("api_keys", "environment")).toEqual([...ENVIRONMENTS]);
  });

  it("is what the API document offers, in inputs and outputs alike", () => {
    expect(property("AdminCreate", "role").enum).toEqual([...ADMIN_ROLES]);
    expect(property("Admin", "role").enum).toEqual([...ADMIN_ROLES]);
    expect(property("TenantUpdate", "status").enum).toEqual([...TENANT_STATUSES]);
    expect(property("Tenant", "status").enum).toEqual([...TENANT_STATUSES]);
    expect(queryEnum("/tenants", "status")).toEqual([...TENANT_STATUSES]);
    expect(property("ApiKey", "status").enum).toEqual([...KEY_STATES]);
    expect(queryEnum("/keys", "status")).toEqual([...KEY_STATES]);
    expect(property("ApiKey", "environment").enum).toEqual([...ENVIRONMENTS]);
    expect(property("KeyCreate", "environment").enum).toEqual([...ENVIRONMENTS]);
    expect(queryEnum("/keys", "environment")).toEqual([...ENVIRONMENTS]);
    // Every role is described where it is chosen.
    for (const role of ADMIN_ROLES) expect(JSON.stringify(property("AdminCreate", "role"))).toContain(`\`${role}\`:`);
  });

  it("gives a key the default scopes, as the scope catalog says", async () => {
    const key = await createKey();
    expect(key.scopes).toEqual([...DEFAULT_SCOPES]);
    expect(await json(await admin("GET", "/scopes"), 200)).toMatchObject({ defaults: [...DEFAULT_SCOPES] });
  });

  it("creates an admin of every role", async () => {
    for (const role of ADMIN_ROLES) {
      const created = await json(await admin("POST", "/admins", { email: uniqueEmail(role), password: PASSWORD, role }), 201);
      expect(created).toMatchObject({ object: "admin", role });
    }
  });
});

describe("a word outside the vocabulary", () => {
  it("is refused with the whole list, and nothing is stored", async () => {
    const tenant = await createTenant();
    const before = await storedState();
    const cases: Array<[string, string, unknown, string, readonly string[]]> = [
      ["POST", "/admins", { email: uniqueEmail(), password: PASSWORD, role: "superuser" }, "role", ADMIN_ROLES],
      ["PATCH", `/tenants/${tenant.id}`, { status: "paused" }, "status", TENANT_STATUSES],
      ["GET", "/tenants?status=paused", undefined, "status", TENANT_STATUSES],
      ["GET", `/keys?tenant_id=${tenant.id}&status=gone`, undefined, "status", KEY_STATES],
      ["POST", "/keys", { tenant_id: tenant.id, environment: "staging" }, "environment", ENVIRONMENTS],
    ];
    for (const [method, path, body, field, values] of cases) {
      const error = await expectError(await admin(method, path, body), 400, "invalid_request");
      expect(error.error.details?.fields, `${method} ${path}`).toEqual([{ field, message: `must be one of ${values.join(", ")}` }]);
    }
    const scope = await expectError(await admin("POST", "/keys", { tenant_id: tenant.id, scopes: ["servers:*"] }), 400, "invalid_request");
    expect(scope.error.details?.fields).toEqual([{ field: "scopes.0", message: 'must look like "read", "write:servers" or "*"' }]);
    expect(await storedState()).toEqual(before);
  });
});
