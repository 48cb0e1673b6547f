import { exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { ERROR_STATUS, OAUTH_ERROR_STATUS } from "../../src/http/errors";
import { createKey, uniqueIp } from "../support/client";
import { BASE, adminUser, adminWith, asKey, expectError, rawAdmin, signin, type SignedIn } from "./support";

interface ErrorSchema {
  properties: { error: { properties: { code: { enum: string[] } } } };
}
/** A status's envelope: the shared Error schema, narrowed to that status's codes. */
interface StatusErrorSchema {
  allOf: [{ $ref: string }, ErrorSchema];
}
interface Operation {
  security?: Record<string, string[]>[];
  requestBody?: unknown;
  operationId?: string;
  tags?: string[];
  responses: Record<string, { content?: { "application/json"?: { schema: StatusErrorSchema } } }>;
}
interface Spec {
  openapi: string;
  servers: { url: string; description: string }[];
  tags: { name: string; description: string }[];
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
  "DELETE /_keygate/v1/admins/{id}/second-factors",
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
  "GET /_keygate/v1/keys/{id}/events",
  "GET /_keygate/v1/tenants/{id}/usage",
  "GET /_keygate/v1/tenants/{id}/usage/export",
  "GET /_keygate/v1/failed-attempts",
  "POST /_keygate/v1/keys/verify",
  "GET /_keygate/v1/audit-events",
  "POST /_keygate/v1/sessions",
  "POST /_keygate/v1/sessions/refresh",
  "DELETE /_keygate/v1/sessions/current",
  "POST /_keygate/v1/sessions/passkey-options",
  "POST /_keygate/v1/account/password",
  "GET /_keygate/v1/account",
  "POST /_keygate/v1/account/reauthenticate",
  "POST /_keygate/v1/account/reauthenticate/passkey-options",
  "GET /_keygate/v1/account/sessions",
  "DELETE /_keygate/v1/account/sessions",
  "DELETE /_keygate/v1/account/sessions/{id}",
  "POST /_keygate/v1/account/totp",
  "POST /_keygate/v1/account/totp/confirm",
  "DELETE /_keygate/v1/account/totp",
  "POST /_keygate/v1/account/recovery-codes",
  "POST /_keygate/v1/account/passkeys/options",
  "POST /_keygate/v1/account/passkeys",
  "DELETE /_keygate/v1/account/passkeys/{id}",
  "GET /_keygate/v1/settings/signin",
  "PATCH /_keygate/v1/settings/signin",
  "GET /_keygate/v1/signin-methods",
  "GET /_keygate/v1/sso/start",
  "GET /_keygate/v1/sso/callback",
  "GET /_keygate/v1/scopes",
  "GET /_keygate/v1/overview",
  "GET /_keygate/v1/names",
  "POST /_keygate/v1/oauth-clients",
  "GET /_keygate/v1/oauth-clients",
  "GET /_keygate/v1/oauth-clients/{id}",
  "PATCH /_keygate/v1/oauth-clients/{id}",
  "DELETE /_keygate/v1/oauth-clients/{id}",
  "POST /_keygate/v1/oauth-clients/{id}/secret",
  "POST /_keygate/v1/oauth-authorizations",
  "GET /_keygate/v1/oauth-grants",
  "GET /_keygate/v1/oauth-grants/{id}",
  "POST /_keygate/v1/oauth-grants/{id}/revoke",
  "POST /_keygate/v1/oauth-grants/revoke",
].sort();

/** The OAuth endpoints: no bearer token (the app authenticates as a client), RFC 6749's error bodies. */
const OAUTH_ENDPOINTS = [
  "GET /.well-known/oauth-authorization-server",
  "GET /.well-known/oauth-protected-resource",
  "GET /_keygate/oauth/authorize",
  "POST /_keygate/oauth/token",
  "POST /_keygate/oauth/revoke",
  "POST /_keygate/oauth/register",
].sort();

const SIGNIN = "POST /_keygate/v1/signins";
/** The console's session routes: its cookie authenticates them, and a cross-site call gets 403. */
const SESSION_COOKIE = new Set([
  "POST /_keygate/v1/sessions",
  "POST /_keygate/v1/sessions/refresh",
  "DELETE /_keygate/v1/sessions/current",
  "POST /_keygate/v1/sessions/passkey-options",
]);
/** Before anyone signs in: the ways to sign in, and single sign-on's start and callback (browser redirects). */
const SIGNIN_PAGES = new Set(["GET /_keygate/v1/signin-methods", "GET /_keygate/v1/sso/start", "GET /_keygate/v1/sso/callback"]);
/** Routes that take no bearer token. */
const NO_BEARER = new Set([SIGNIN, ...SESSION_COOKIE, ...SIGNIN_PAGES]);
/** Every signed-in admin, a viewer too, manages their own account (password, factors, sessions). */
const isOwnAccount = (route: string) => / \/_keygate\/v1\/account(\/|$)/.test(route);
/** The error statuses each route without a bearer token documents (every other route: the guarded set). */
const UNGUARDED_ERRORS: Record<string, number[]> = {
  [SIGNIN]: [400, 401, 413, 429, 500, 503],
  "POST /_keygate/v1/sessions": [400, 401, 403, 413, 429, 500, 503],
  "POST /_keygate/v1/sessions/refresh": [401, 403, 413, 429, 500, 503],
  "DELETE /_keygate/v1/sessions/current": [403, 413, 500, 503],
  "POST /_keygate/v1/sessions/passkey-options": [400, 401, 403, 413, 500, 503],
  "GET /_keygate/v1/signin-methods": [413, 500, 503],
  "GET /_keygate/v1/sso/start": [400, 404, 413, 500, 503],
  "GET /_keygate/v1/sso/callback": [413, 500, 503],
};

/** What a tenant's key may call (its own tenant's keys only). */
const SELF_SERVICE = new Set([
  "POST /_keygate/v1/keys",
  "GET /_keygate/v1/keys",
  "GET /_keygate/v1/keys/{id}",
  "POST /_keygate/v1/keys/{id}/rotate",
  "POST /_keygate/v1/keys/{id}/revoke",
  "GET /_keygate/v1/keys/{id}/usage",
  "GET /_keygate/v1/keys/{id}/events",
  "GET /_keygate/v1/tenants/{id}/usage",
  "GET /_keygate/v1/tenants/{id}/usage/export",
]);

let spec: Spec;
/** The admin API's operations (under /_keygate/v1). */
let operations: { route: string; method: string; path: string; op: Operation }[];
let oauthOperations: typeof operations;

/** A concrete path for a templated one: ids of the right shape that exist nowhere. */
function concrete(path: string): string {
  const ids: Record<string, string> = { admins: "adm", tenants: "ten", "oauth-clients": "cli", "oauth-grants": "grt", keys: "key" };
  const id = path.includes("/sessions/")
    ? "ses_00000000000000000000"
    : path.includes("/passkeys/")
      ? "bm8tc3VjaC1wYXNza2V5"
      : `${ids[path.split("/")[3]!] ?? "key"}_00000000000000000000`;
  return path.replace("/_keygate/v1", "").replace("{id}", id);
}

beforeAll(async () => {
  const res = await exports.default.fetch(`${BASE}/_keygate/openapi.json`);
  expect(res.status).toBe(200);
  spec = (await res.json()) as Spec;
  const all = Object.entries(spec.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({ route: `${method.toUpperCase()} ${path}`, method: method.toUpperCase(), path, op })),
  );
  operations = all.filter((o) => o.path.startsWith("/_keygate/v1/"));
  oauthOperations = all.filter((o) => !o.path.startsWith("/_keygate/v1/"));
});

describe("GET /_keygate/openapi.json", () => {
  it("serves an OpenAPI 3.1 document of every route, without credentials", async () => {
    expect(spec.openapi).toBe("3.1.0");
    expect(spec.info.title).toBe("keygate admin API");
    expect(operations.map((o) => o.route).sort()).toEqual(EXPECTED_ROUTES);
    expect(oauthOperations.map((o) => o.route).sort()).toEqual(OAUTH_ENDPOINTS);
  });

  it("documents the OAuth endpoints without a bearer token, their errors in RFC 6749's form from the OAuth error table", async () => {
    for (const { route, op } of oauthOperations) {
      expect(op.security, route).toEqual([]);
      expect(Object.keys(op.responses).some((s) => s.startsWith("2") || s === "302"), route).toBe(true);
      for (const [status, response] of Object.entries(op.responses)) {
        const schema = (response.content?.["application/json"]?.schema ?? {}) as { allOf?: [{ $ref: string }, { properties: { error: { enum: string[] } } }] };
        if (!status.startsWith("4") && !status.startsWith("5")) continue;
        if (status === "404") continue; // registration while it is off: keygate's envelope, as any missing route
        expect(schema.allOf?.[0].$ref, `${route} ${status}`).toBe("#/components/schemas/OAuthError");
        for (const code of schema.allOf![1].properties.error.enum) expect(OAUTH_ERROR_STATUS[code as keyof typeof OAUTH_ERROR_STATUS], `${route} ${code}`).toBe(Number(status));
      }
    }
    const token = oauthOperations.find((o) => o.route === "POST /_keygate/oauth/token")!.op;
    expect(Object.keys(token.responses).sort()).toEqual(["200", "400", "401", "429", "500", "503"]);
  });

  it("names every operation once and puts it in one of the reference's declared groups", async () => {
    const ids = [...operations, ...oauthOperations].map(({ route, op }) => {
      expect(op.operationId, route).toMatch(/^[a-z][A-Za-z]+$/);
      expect(op.tags, route).toHaveLength(1);
      expect(spec.tags.map((tag) => tag.name), route).toContain(op.tags![0]);
      return op.operationId;
    });
    expect(new Set(ids).size).toBe(ids.length);
    for (const tag of spec.tags) expect(tag.description, tag.name).toEqual(expect.any(String));
    expect(spec.servers).toEqual([{ url: BASE, description: "This keygate" }]);
  });

  it("declares bearer and x-api-key security, required everywhere but sign-in", async () => {
    expect(spec.components.securitySchemes.bearer).toMatchObject({ type: "http", scheme: "bearer" });
    expect(spec.components.securitySchemes.apiKey).toMatchObject({ type: "apiKey", in: "header", name: "x-api-key" });
    expect(spec.security).toEqual([{ bearer: [] }, { apiKey: [] }]);
    for (const { route, op } of operations) {
      if (NO_BEARER.has(route)) expect(op.security, route).toEqual([]);
      else expect(op.security, route).toBeUndefined();
    }
  });

  it("documents a JSON success and the 400/401 error envelope for every operation", async () => {
    for (const { route, op } of operations) {
      const statuses = Object.keys(op.responses);
      // Single sign-on's routes answer a browser with redirects.
      expect(statuses.some((s) => s.startsWith("2") || (SIGNIN_PAGES.has(route) && s === "302")), route).toBe(true);
      if (SESSION_COOKIE.has(route) || SIGNIN_PAGES.has(route)) continue; // their errors: UNGUARDED_ERRORS, checked below
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

  it("refuses a call without credentials (401), except sign-in and the console's session routes", async () => {
    for (const { route, method, path } of operations) {
      if (NO_BEARER.has(route)) continue;
      const res = await rawAdmin(method, concrete(path), { headers: { "content-type": "application/json" }, body: method === "GET" || method === "DELETE" ? undefined : "{}" });
      const error = await expectError(res, 401, "missing_credentials");
      expect(res.headers.get("www-authenticate"), route).toBe('Bearer realm="keygate-admin"');
      expect(error.error.code).toBe("missing_credentials");
    }
  });

  it("refuses a viewer every change (403)", async () => {
    for (const { route, method, path } of operations) {
      if (method === "GET" || NO_BEARER.has(route) || isOwnAccount(route)) continue;
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
      if (NO_BEARER.has(route)) continue;
      const res = await asKey(manager.key, method, concrete(path), method === "GET" || method === "DELETE" ? undefined : {});
      if (SELF_SERVICE.has(route)) expect(res.status, route).not.toBe(403);
      else await expectError(res, 403, "insufficient_permissions");
    }
  });
});

describe("errors, documented from the one error table", () => {
  /** The codes an operation documents for `status`. */
  const documented = (op: Operation, status: number): string[] =>
    op.responses[String(status)]?.content?.["application/json"]?.schema.allOf?.[1].properties.error.properties.code.enum ?? [];

  it("every guarded operation documents 401, 403, 413, 429, 500 and 503, each with its codes from the table", async () => {
    for (const { route, op } of operations) {
      const statuses = UNGUARDED_ERRORS[route] ?? [401, 403, 413, 429, 500, 503];
      for (const status of statuses) {
        const codes = documented(op, status);
        expect(codes.length, `${route} ${status}`).toBeGreaterThan(0);
        for (const code of codes) expect(ERROR_STATUS[code as keyof typeof ERROR_STATUS], `${route} ${code}`).toBe(status);
        expect(op.responses[String(status)]!.content!["application/json"]!.schema.allOf[0].$ref).toBe("#/components/schemas/Error");
      }
    }
  });

  it("every code in the table but the proxy's origin errors is documented somewhere, and Error.code is the table's enum", async () => {
    const everywhere = new Set(operations.flatMap(({ op }) => Object.keys(op.responses).flatMap((status) => documented(op, Number(status)))));
    const expected = Object.keys(ERROR_STATUS).filter((code) => !code.startsWith("origin_"));
    expect([...everywhere].sort()).toEqual(expected.sort());
    const shared = spec.components.schemas.Error as ErrorSchema;
    expect(shared.properties.error.properties.code.enum.sort()).toEqual(Object.keys(ERROR_STATUS).sort());
  });

  it("what the API really answers is what it documents for that operation", async () => {
    const viewer = await adminUser("viewer");
    const op = (route: string) => operations.find((o) => o.route === route)!.op;
    const answers: [string, Response][] = [
      ["GET /_keygate/v1/keys", await rawAdmin("GET", "/keys")],
      ["GET /_keygate/v1/keys", await adminWith("nope", "GET", "/keys")],
      ["POST /_keygate/v1/tenants", await adminWith(viewer.token, "POST", "/tenants", { name: "x" })],
      ["GET /_keygate/v1/tenants/{id}", await adminWith(viewer.token, "GET", "/tenants/ten_000000000000000000")],
      ["POST /_keygate/v1/keys", await adminWith(viewer.token, "POST", "/keys", "x".repeat(70_000))],
      ["POST /_keygate/v1/keys/verify", await adminWith(viewer.token, "POST", "/keys/verify", { key: 1 })],
      ["POST /_keygate/v1/sessions/refresh", await rawAdmin("POST", "/sessions/refresh")],
      ["POST /_keygate/v1/account/password", await adminWith(viewer.token, "POST", "/account/password", { current_password: "wrong", new_password: "x".repeat(12) })],
      ["POST /_keygate/v1/signins", await signin({ grant_type: "password", email: "nobody@example.com", password: "wrong" }, { ip: uniqueIp() })],
    ];
    for (const [route, res] of answers) {
      const body = (await res.json()) as { error: { code: string } };
      expect(documented(op(route), res.status), `${route} ${res.status}`).toContain(body.error.code);
    }
  });
});
