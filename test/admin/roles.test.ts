import { beforeAll, describe, expect, it } from "vitest";
import { admin, createKey, createTenant, type Created } from "../support/client";
import { adminUser, asKey, expectError, json, PASSWORD, storedState, uniqueEmail, type SignedIn } from "./support";

/** Role escalation: each role does exactly what it may, and every refusal leaves D1 as it was. */

let owner: SignedIn;
let adminRole: SignedIn;
let viewer: SignedIn;
let key: Created;

beforeAll(async () => {
  owner = await adminUser("owner");
  adminRole = await adminUser("admin");
  viewer = await adminUser("viewer");
  key = await createKey({ scopes: ["read"] });
});

/** Every mutation of tenants and keys, as [method, path, body]. */
function mutations(): [string, string, unknown][] {
  return [
    ["POST", "/tenants", { name: "nope" }],
    ["PATCH", `/tenants/${key.tenant_id}`, { status: "suspended" }],
    ["POST", "/keys", { tenant_id: key.tenant_id }],
    ["PATCH", `/keys/${key.id}`, { name: "renamed" }],
    ["POST", `/keys/${key.id}/rotate`, { grace_seconds: 60 }],
    ["POST", `/keys/${key.id}/revoke`, undefined],
    ["DELETE", `/keys/${key.id}`, undefined],
  ];
}

function adminManagement(target: string): [string, string, unknown][] {
  return [
    ["GET", "/admins", undefined],
    ["GET", `/admins/${target}`, undefined],
    ["POST", "/admins", { email: uniqueEmail("sneaky"), password: PASSWORD, role: "owner" }],
    ["POST", "/admins", { email: uniqueEmail("sneaky"), password: PASSWORD, role: "viewer" }],
    ["PATCH", `/admins/${target}`, { role: "owner" }],
    ["PATCH", `/admins/${target}`, { password: "taken over by someone" }],
    ["DELETE", `/admins/${target}`, undefined],
  ];
}

describe("viewer", () => {
  it("reads tenants, keys, usage and the audit trail", async () => {
    for (const path of ["/tenants", `/tenants/${key.tenant_id}`, "/keys", `/keys/${key.id}`, `/keys/${key.id}/usage`, "/audit-events"]) {
      expect((await admin("GET", path, undefined, viewer.token)).status, path).toBe(200);
    }
  });

  it("cannot change anything: 403 insufficient_permissions, D1 unchanged", async () => {
    const before = await storedState();
    for (const [method, path, body] of mutations()) {
      await expectError(await admin(method, path, body, viewer.token), 403, "insufficient_permissions");
    }
    expect(await storedState()).toEqual(before);
    expect((await json<{ status: string }>(await admin("GET", `/keys/${key.id}`), 200)).status).toBe("active");
  });

  it("is refused before its input is even looked at (403, not 400)", async () => {
    await expectError(await admin("POST", "/tenants", { name: 42, evil: true }, viewer.token), 403, "insufficient_permissions");
  });

  it("cannot manage admins, including promoting itself", async () => {
    const before = await storedState();
    for (const [method, path, body] of adminManagement(viewer.id)) {
      await expectError(await admin(method, path, body, viewer.token), 403, "insufficient_permissions");
    }
    expect(await storedState()).toEqual(before);
  });
});

describe("admin", () => {
  it("manages tenants and keys", async () => {
    const tenant = await json<{ id: string }>(await admin("POST", "/tenants", { name: "by admin" }, adminRole.token), 201);
    const created = await json<{ id: string }>(await admin("POST", "/keys", { tenant_id: tenant.id }, adminRole.token), 201);
    await json(await admin("PATCH", `/keys/${created.id}`, { name: "renamed" }, adminRole.token), 200);
    await json(await admin("POST", `/keys/${created.id}/revoke`, undefined, adminRole.token), 200);
    await json(await admin("PATCH", `/tenants/${tenant.id}`, { status: "suspended" }, adminRole.token), 200);
  });

  it("cannot manage owners or admins, nor make itself an owner", async () => {
    const before = await storedState();
    for (const target of [owner.id, adminRole.id]) {
      for (const [method, path, body] of adminManagement(target)) {
        await expectError(await admin(method, path, body, adminRole.token), 403, "insufficient_permissions");
      }
    }
    expect(await storedState()).toEqual(before);
    // Still an admin: the refused self-promotion did not happen.
    await expectError(await admin("GET", "/admins", undefined, adminRole.token), 403, "insufficient_permissions");
  });
});

describe("owner", () => {
  it("manages admins of every role", async () => {
    const made = await json<{ id: string }>(
      await admin("POST", "/admins", { email: uniqueEmail("by-owner"), password: PASSWORD, role: "owner" }, owner.token),
      201,
    );
    await json(await admin("PATCH", `/admins/${made.id}`, { role: "viewer" }, owner.token), 200);
    expect((await admin("DELETE", `/admins/${made.id}`, undefined, owner.token)).status).toBe(204);
  });
});

describe("a tenant's API key (self-service)", () => {
  it("cannot reach tenant, admin or audit routes, nor PATCH or DELETE keys, even its own (403)", async () => {
    const manager = await createKey({ scopes: ["keys:manage", "read", "write"] });
    const before = await storedState();
    const forbidden: [string, string, unknown][] = [
      ["GET", "/tenants", undefined],
      ["GET", `/tenants/${manager.tenant_id}`, undefined],
      ["POST", "/tenants", { name: "self-made" }],
      ["PATCH", `/tenants/${manager.tenant_id}`, { status: "active" }],
      ["GET", "/admins", undefined],
      ["POST", "/admins", { email: uniqueEmail("via-key"), password: PASSWORD, role: "owner" }],
      ["GET", "/audit-events", undefined],
      ["PATCH", `/keys/${manager.id}`, { scopes: ["*"] }],
      ["DELETE", `/keys/${manager.id}`, undefined],
    ];
    for (const [method, path, body] of forbidden) {
      await expectError(await asKey(manager.key, method, path, body), 403, "insufficient_permissions");
    }
    expect(await storedState()).toEqual(before);
  });

  it("cannot touch another tenant's keys: 404 exactly as for ids that do not exist", async () => {
    const manager = await createKey({ scopes: ["keys:manage", "read", "write"] });
    const foreignTenant = await createTenant("Foreign");
    const foreign = await createKey({ tenant_id: foreignTenant.id });
    const before = await storedState();
    for (const [method, path, body] of [
      ["GET", `/keys/${foreign.id}`, undefined],
      ["GET", `/keys/${foreign.id}/usage`, undefined],
      ["POST", `/keys/${foreign.id}/rotate`, { grace_seconds: 60 }],
      ["POST", `/keys/${foreign.id}/revoke`, undefined],
      ["POST", "/keys", { tenant_id: foreignTenant.id, scopes: ["read"] }],
    ] as [string, string, unknown][]) {
      await expectError(await asKey(manager.key, method, path, body), 404, "not_found");
    }
    const listed = await json<{ data: unknown[] }>(await asKey(manager.key, "GET", `/keys?tenant_id=${foreignTenant.id}`), 200);
    expect(listed.data).toEqual([]);
    expect(await storedState()).toEqual(before);
  });

  it("cannot mint or rotate its way to scopes it does not hold", async () => {
    const manager = await createKey({ scopes: ["keys:manage", "read"] });
    const strong = await createKey({ tenant_id: manager.tenant_id, scopes: ["*"] });
    const before = await storedState();
    const refused = await expectError(await asKey(manager.key, "POST", "/keys", { tenant_id: manager.tenant_id, scopes: ["read", "write"] }), 403, "insufficient_permissions");
    expect(refused.error.details).toEqual({ missing_scopes: ["write"] });
    await expectError(await asKey(manager.key, "POST", "/keys", { tenant_id: manager.tenant_id, scopes: ["*"] }), 403, "insufficient_permissions");
    await expectError(await asKey(manager.key, "POST", `/keys/${strong.id}/rotate`, {}), 403, "insufficient_permissions");
    expect(await storedState()).toEqual(before);
    // What it holds, it may hand out.
    await json(await asKey(manager.key, "POST", "/keys", { tenant_id: manager.tenant_id, scopes: ["read"] }), 201);
  });
});
