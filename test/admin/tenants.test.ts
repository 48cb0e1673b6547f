import { describe, expect, it } from "vitest";
import { admin, createTenant } from "../support/client";
import { expectError, failingFields, json, storedState, type List } from "./support";

interface TenantBody {
  id: string;
  object: string;
  name: string;
  status: string;
  created_at: string;
}

async function walk<T extends { id: string }>(path: string, limit: number): Promise<{ items: T[]; pages: number }> {
  const items: T[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const sep = path.includes("?") ? "&" : "?";
    const page: List<T> = await json<List<T>>(await admin("GET", `${path}${sep}limit=${limit}${cursor ? `&cursor=${cursor}` : ""}`), 200);
    expect(page.object).toBe("list");
    expect(page.data.length).toBeLessThanOrEqual(limit);
    expect(page.has_more).toBe(page.next_cursor !== null);
    items.push(...page.data);
    cursor = page.next_cursor;
    pages++;
  } while (cursor);
  return { items, pages };
}

describe("GET /tenants", () => {
  it("lists every tenant exactly once, newest first, across pages", async () => {
    const made: string[] = [];
    for (let i = 0; i < 5; i++) made.push((await createTenant(`Paged ${i}`)).id);
    const { items, pages } = await walk<TenantBody>("/tenants", 2);
    const ids = items.map((t) => t.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of made) expect(ids).toContain(id);
    expect(pages).toBeGreaterThanOrEqual(3);
    const times = items.map((t) => Date.parse(t.created_at));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    // Newest first: the last made precedes the first made.
    expect(ids.indexOf(made[4]!)).toBeLessThan(ids.indexOf(made[0]!));
  });

  it("filters by status", async () => {
    const suspended = await createTenant("To suspend");
    await json(await admin("PATCH", `/tenants/${suspended.id}`, { status: "suspended" }), 200);
    const { items } = await walk<TenantBody>("/tenants?status=suspended", 50);
    expect(items.map((t) => t.id)).toContain(suspended.id);
    expect(items.every((t) => t.status === "suspended")).toBe(true);
    const active = await walk<TenantBody>("/tenants?status=active", 50);
    expect(active.items.map((t) => t.id)).not.toContain(suspended.id);
  });

  it("refuses bad paging and filters with the parameter named", async () => {
    await createTenant("Enough for a cursor");
    await createTenant("Enough for a cursor 2");
    expect(await failingFields(await admin("GET", "/tenants?limit=0"))).toEqual(["limit"]);
    expect(await failingFields(await admin("GET", "/tenants?limit=101"))).toEqual(["limit"]);
    expect(await failingFields(await admin("GET", "/tenants?limit=ten"))).toEqual(["limit"]);
    expect(await failingFields(await admin("GET", "/tenants?limit=1.5"))).toEqual(["limit"]);
    expect(await failingFields(await admin("GET", "/tenants?cursor=garbage"))).toEqual(["cursor"]);
    expect(await failingFields(await admin("GET", "/tenants?status=deleted"))).toEqual(["status"]);
    expect(await failingFields(await admin("GET", "/tenants?sort=name"))).toEqual(["query"]);
    expect(await failingFields(await admin("GET", "/tenants?limit=1&limit=2"))).toEqual(["limit"]);
    // A cursor from another list is refused rather than misread.
    const tenants = await json<List<unknown>>(await admin("GET", "/tenants?limit=1"), 200);
    expect(tenants.next_cursor).toBeTruthy();
    expect(await failingFields(await admin("GET", `/keys?cursor=${tenants.next_cursor}`))).toEqual(["cursor"]);
  });
});

describe("GET /tenants/:id", () => {
  it("returns the tenant, 404 for unknown ids, 400 for malformed ones", async () => {
    const tenant = await createTenant("Lookup");
    expect(await json<TenantBody>(await admin("GET", `/tenants/${tenant.id}`), 200)).toMatchObject({ id: tenant.id, object: "tenant", name: "Lookup", status: "active" });
    await expectError(await admin("GET", "/tenants/ten_00000000000000000000"), 404, "not_found");
    expect(await failingFields(await admin("GET", "/tenants/key_abc"))).toEqual(["id"]);
  });
});

describe("POST and PATCH /tenants", () => {
  it("creates and renames; bad input changes nothing", async () => {
    const tenant = await createTenant("Before");
    expect(await json<TenantBody>(await admin("PATCH", `/tenants/${tenant.id}`, { name: "After" }), 200)).toMatchObject({ name: "After", status: "active" });
    const before = await storedState();
    expect(await failingFields(await admin("PATCH", `/tenants/${tenant.id}`, { status: "deleted" }))).toEqual(["status"]);
    expect(await failingFields(await admin("PATCH", `/tenants/${tenant.id}`, {}))).toEqual(["body"]);
    expect(await failingFields(await admin("POST", "/tenants", { name: "" }))).toEqual(["name"]);
    expect(await failingFields(await admin("POST", "/tenants", { name: "x".repeat(201) }))).toEqual(["name"]);
    await expectError(await admin("PATCH", "/tenants/ten_00000000000000000000", { name: "Ghost" }), 404, "not_found");
    expect(await storedState()).toEqual(before);
  });
});
