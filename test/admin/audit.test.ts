import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { admin, createKey, createTenant } from "../support/client";
import { PASSWORD, adminUser, expectError, failingFields, json, storedState, uniqueEmail, type List } from "./support";

interface Event {
  id: string;
  object: string;
  action: string;
  actor: { type: string; id: string };
  resource: { type: string; id: string };
  tenant_id: string | null;
  request_id: string;
  details: Record<string, unknown> | null;
  created_at: string;
}

async function events(query: string, token?: string): Promise<Event[]> {
  const out: Event[] = [];
  let cursor: string | null = null;
  do {
    const params = new URLSearchParams(query);
    if (!params.has("limit")) params.set("limit", "100");
    if (cursor) params.set("cursor", cursor);
    const page: List<Event> = await json<List<Event>>(await admin("GET", `/audit-events?${params}`, undefined, token), 200);
    out.push(...page.data);
    cursor = page.next_cursor;
  } while (cursor);
  return out;
}

/** The one audit event written under the response's request id. */
async function auditedBy(res: Response, status: number): Promise<Event> {
  expect(res.status).toBe(status);
  const requestId = res.headers.get("x-request-id")!;
  const found = await events(`request_id=${requestId}`);
  expect(found, `events for ${requestId}`).toHaveLength(1);
  expect(found[0]!.request_id).toBe(requestId);
  return found[0]!;
}

describe("every admin mutation is audited", () => {
  it("records who, what, which resource, when and the request id, for tenants, keys and admins", async () => {
    const owner = await adminUser("owner");
    const startedAt = Date.now() - 1000;
    const asOwner = (method: string, path: string, body?: unknown) => admin(method, path, body, owner.token);

    const tenantRes = await asOwner("POST", "/tenants", { name: "Audited" });
    const tenant = (await tenantRes.clone().json()) as { id: string };
    const check = async (res: Response, status: number, action: string, type: string, id: string, tenantId: string | null) => {
      const event = await auditedBy(res, status);
      expect(event).toMatchObject({ object: "audit_event", action, actor: { type: "admin", id: owner.id }, resource: { type, id }, tenant_id: tenantId });
      expect(event.request_id).toMatch(/^req_/);
      expect(Date.parse(event.created_at)).toBeGreaterThan(startedAt);
      return event;
    };
    await check(tenantRes, 201, "tenant.created", "tenant", tenant.id, tenant.id);
    await check(await asOwner("PATCH", `/tenants/${tenant.id}`, { name: "Renamed" }), 200, "tenant.updated", "tenant", tenant.id, tenant.id);
    await check(await asOwner("PATCH", `/tenants/${tenant.id}`, { status: "suspended" }), 200, "tenant.suspended", "tenant", tenant.id, tenant.id);
    await check(await asOwner("PATCH", `/tenants/${tenant.id}`, { status: "active" }), 200, "tenant.reactivated", "tenant", tenant.id, tenant.id);

    const keyRes = await asOwner("POST", "/keys", { tenant_id: tenant.id });
    const key = (await keyRes.clone().json()) as { id: string; key: string };
    const created = await check(keyRes, 201, "key.created", "api_key", key.id, tenant.id);
    expect(JSON.stringify(created)).not.toContain(key.key);
    await check(await asOwner("PATCH", `/keys/${key.id}`, { name: "renamed" }), 200, "key.updated", "api_key", key.id, tenant.id);
    const rotateRes = await asOwner("POST", `/keys/${key.id}/rotate`, { grace_seconds: 60 });
    const rotated = (await rotateRes.clone().json()) as { id: string };
    expect(rotateRes.status).toBe(201);
    const rotation = (await events(`resource_id=${key.id}&action=key.rotated`))[0]!;
    expect(rotation).toMatchObject({ request_id: rotateRes.headers.get("x-request-id"), details: { rotated_to: rotated.id, grace_seconds: 60 } });
    await check(await asOwner("POST", `/keys/${rotated.id}/revoke`), 200, "key.revoked", "api_key", rotated.id, tenant.id);
    await check(await asOwner("DELETE", `/keys/${rotated.id}`), 204, "key.deleted", "api_key", rotated.id, tenant.id);

    const adminRes = await asOwner("POST", "/admins", { email: uniqueEmail("audited"), password: PASSWORD, role: "viewer" });
    const made = (await adminRes.clone().json()) as { id: string };
    await check(adminRes, 201, "admin.created", "admin", made.id, null);
    const passwordChange = await check(await asOwner("PATCH", `/admins/${made.id}`, { password: "another long passphrase" }), 200, "admin.updated", "admin", made.id, null);
    expect(passwordChange.details).toEqual({ password_changed: true });
    await check(await asOwner("DELETE", `/admins/${made.id}`), 204, "admin.deleted", "admin", made.id, null);
    // No audit event ever carries a password.
    const all = await env.DB.prepare("SELECT details FROM audit_events").all<{ details: string | null }>();
    for (const row of all.results) {
      expect(row.details ?? "").not.toContain(PASSWORD);
      expect(row.details ?? "").not.toContain("another long passphrase");
    }
  });

  it("records the root token as the actor when ADMIN_TOKEN is used", async () => {
    const res = await admin("POST", "/tenants", { name: "By root" });
    const event = await auditedBy(res, 201);
    expect(event.actor).toEqual({ type: "root", id: "root" });
  });

  it("writes nothing for a refused mutation", async () => {
    const viewer = await adminUser("viewer");
    const key = await createKey();
    await json(await admin("POST", `/keys/${key.id}/revoke`), 200);
    const before = await storedState();
    await expectError(await admin("PATCH", `/keys/${key.id}`, { name: "x" }), 409, "conflict");
    await expectError(await admin("POST", "/tenants", { name: "x" }, viewer.token), 403, "insufficient_permissions");
    await failingFields(await admin("POST", "/tenants", { name: "" }));
    await expectError(await admin("PATCH", "/tenants/ten_00000000000000000000", { name: "x" }), 404, "not_found");
    expect((await storedState()).audit).toEqual(before.audit);
  });
});

describe("GET /audit-events", () => {
  it("filters by resource, action, actor and tenant, and pages", async () => {
    const owner = await adminUser("owner");
    const tenant = await createTenant("Filter me");
    const key = await createKey({ tenant_id: tenant.id });
    await json(await admin("PATCH", `/keys/${key.id}`, { name: "one" }, owner.token), 200);
    await json(await admin("PATCH", `/keys/${key.id}`, { name: "two" }, owner.token), 200);
    await json(await admin("POST", `/keys/${key.id}/revoke`), 200);

    const forKey = await events(`resource_id=${key.id}`);
    expect(forKey.map((e) => e.action)).toEqual(["key.revoked", "key.updated", "key.updated", "key.created"]);
    expect((await events(`resource_id=${key.id}&action=key.updated`)).every((e) => e.action === "key.updated")).toBe(true);
    const byOwner = await events(`actor_id=${owner.id}`);
    expect(byOwner.filter((e) => e.resource.id === key.id)).toHaveLength(2);
    expect(byOwner.every((e) => e.actor.id === owner.id)).toBe(true);
    const byTenant = await events(`tenant_id=${tenant.id}`);
    expect(byTenant.map((e) => e.action).sort()).toEqual(["key.created", "key.revoked", "key.updated", "key.updated", "tenant.created"]);

    const page1 = await json<List<Event>>(await admin("GET", `/audit-events?tenant_id=${tenant.id}&limit=2`), 200);
    expect(page1.data).toHaveLength(2);
    expect(page1.has_more).toBe(true);
    const page2 = await json<List<Event>>(await admin("GET", `/audit-events?tenant_id=${tenant.id}&limit=2&cursor=${page1.next_cursor}`), 200);
    expect(page2.data.map((e) => e.id)).not.toContain(page1.data[0]!.id);
    expect([...page1.data, ...page2.data].map((e) => e.id)).toEqual(byTenant.slice(0, 4).map((e) => e.id));
  });

  it("is readable by viewers, and treats filter values as data, not SQL", async () => {
    const viewer = await adminUser("viewer");
    expect((await events("limit=5", viewer.token)).length).toBeGreaterThan(0);
    expect(await events(`resource_id=${encodeURIComponent("' OR '1'='1")}`)).toEqual([]);
    expect(await events(`actor_id=${encodeURIComponent("root' --")}`)).toEqual([]);
  });

  it("refuses bad filters with the parameter named", async () => {
    expect(await failingFields(await admin("GET", "/audit-events?action=DROP%20TABLE"))).toEqual(["action"]);
    expect(await failingFields(await admin("GET", "/audit-events?tenant_id=acme"))).toEqual(["tenant_id"]);
    expect(await failingFields(await admin("GET", "/audit-events?since=yesterday"))).toEqual(["query"]);
    expect(await failingFields(await admin("GET", "/audit-events?cursor=eyJ"))).toEqual(["cursor"]);
    expect(await failingFields(await admin("GET", "/audit-events?request_id=1;DROP"))).toEqual(["request_id"]);
  });
});
