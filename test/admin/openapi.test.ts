import { exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { createKey } from "../support/client";
import { BASE, adminUser, asKey, expectError, rawAdmin, type SignedIn } from "./support";

interface Operation {
  security?: Record<string, string[]>[];
  requestBody?: unknown;
  responses: Record<string, { content?: Record<string, unknown> }>;
}
interface Spec {
  openapi: string;
  info: { title: string };
  security: Record<string, string[]>[];
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, Record<string, string>>; schemas: Record<string, unknown> };
}

const EXPECTED_ROUTES = [
  "POST /_keygate/v1/signins",
  "POST /_keygate/v1/admins",
  "GET /_keygate/v1/admins",
  "GET /_keygate/v1/admins/{id}",
  "PATCH /_keygate/v1/admins/{id}",
  "DELETE /_keygate/v1/admins/{id}",
  "POST /_keygate/v1/tenants",
  "GET /_keygate/v1/tenants",
  "GET /_keygate/v1/tenants/{id}",
  "PATCH /_keygate/v1/tenants/{id}",
  "POST /_keygate/v1/keys",
  "GET /_keygate/v1/keys",
  "GET /_keygate/v1/keys/{id}",
  "PATCH /_keygate/v1/keys/{id}",
  "DELETE /_keygate/v1/keys/{id}",
  "POST /_keygate/v1/keys/{id}/rotate",
  "POST /_keygate/v1/keys/{id}/revoke",
  "GET /_keygate/v1/keys/{id}/usage",
  "GET /_keygate/v1/audit-events",
].sort();

/** What a tenant's key may call (its own tenant's keys only). */
const SELF_SERVICE = new Set([
  "POST /_keygate/v1/keys",
  "GET /_keygate/v1/keys",
  "GET /_keygate/v1/keys/{id}",
  "POST /_keygate/v1/keys/{id}/rotate",
  "POST /_keygate/v1/keys/{id}/revoke",
  "GET /_keygate/v1/keys/{id}/usage",
]);

let spec: Spec;
let operations: { route: string; method: string; path: string; op: Operation }[];

/** A concrete path for a templated one: ids of the right shape that exist nowhere. */
function concrete(path: string): string {
  const id = path.includes("/admins/") ? "adm_00000000000000000000" : path.includes("/tenants/") ? "ten_00000000000000000000" : "key_00000000000000000000";
  return path.replace("/_keygate/v1", "").replace("{id}", id);
}

beforeAll(async () => {
  const res = await exports.default.fetch(`${BASE}/_keygate/openapi.json`);
  expect(res.status).toBe(200);
  spec = (await res.json()) as Spec;
  operations = Object.entries(spec.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({ route: `${method.toUpperCase()} ${path}`, method: method.toUpperCase(), path, op })),
  );
});

describe("GET /_keygate/openapi.json", () => {
  it("serves an OpenAPI 3.1 document of every route, without credentials", async () => {
    expect(spec.openapi).toBe("3.1.0");
    expect(spec.info.title).toBe("keygate admin API");
    expect(operations.map((o) => o.route).sort()).toEqual(EXPECTED_ROUTES);
  });

  it("declares bearer and x-api-key security, required everywhere but sign-in", async () => {
    expect(spec.components.securitySchemes.bearer).toMatchObject({ type: "http", scheme: "bearer" });
    expect(spec.components.securitySchemes.apiKey).toMatchObject({ type: "apiKey", in: "header", name: "x-api-key" });
    expect(spec.security).toEqual([{ bearer: [] }, { apiKey: [] }]);
    for (const { route, op } of operations) {
      if (route === "POST /_keygate/v1/signins") expect(op.security).toEqual([]);
      else expect(op.security, route).toBeUndefined();
    }
  });

  it("documents a JSON success and the 400/401 error envelope for every operation", async () => {
    for (const { route, op } of operations) {
      const statuses = Object.keys(op.responses);
      expect(statuses.some((s) => s.startsWith("2")), route).toBe(true);
      expect(statuses, route).toContain("400");
      expect(statuses, route).toContain("401");
      expect(JSON.stringify(op.responses["400"]), route).toContain("#/components/schemas/Error");
    }
    for (const name of ["ApiKey", "ApiKeyWithSecret", "KeyCreate", "KeyUpdate", "KeyRotate", "Tenant", "Admin", "AuditEvent", "KeyUsage", "AccessToken", "Signin", "Error"]) {
      expect(spec.components.schemas, name).toHaveProperty(name);
    }
  });
});

describe("every documented route is guarded", () => {
  let viewer: SignedIn;
  beforeAll(async () => {
    viewer = await adminUser("viewer");
  });

  it("refuses a call without credentials (401), except sign-in", async () => {
    for (const { route, method, path } of operations) {
      if (route === "POST /_keygate/v1/signins") continue;
      const res = await rawAdmin(method, concrete(path), { headers: { "content-type": "application/json" }, body: method === "GET" || method === "DELETE" ? undefined : "{}" });
      const error = await expectError(res, 401, "missing_credentials");
      expect(res.headers.get("www-authenticate"), route).toBe('Bearer realm="keygate-admin"');
      expect(error.error.code).toBe("missing_credentials");
    }
  });

  it("refuses a viewer every change (403)", async () => {
    for (const { route, method, path } of operations) {
      if (method === "GET" || route === "POST /_keygate/v1/signins") continue;
      const res = await rawAdmin(method, concrete(path), {
        headers: { authorization: `Bearer ${viewer.token}`, "content-type": "application/json" },
        body: method === "DELETE" ? undefined : "{}",
      });
      await expectError(res, 403, "insufficient_permissions");
    }
  });

  it("lets a tenant's key reach only the self-service routes (403 elsewhere)", async () => {
    const manager = await createKey({ scopes: ["*"] });
    for (const { route, method, path } of operations) {
      if (route === "POST /_keygate/v1/signins") continue;
      const res = await asKey(manager.key, method, concrete(path), method === "GET" || method === "DELETE" ? undefined : {});
      if (SELF_SERVICE.has(route)) expect(res.status, route).not.toBe(403);
      else await expectError(res, 403, "insufficient_permissions");
    }
  });
});
