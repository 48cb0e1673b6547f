import { describe, expect, it } from "vitest";
import { createKey, errorOf, gateway, originCounts } from "../support/client";
import { callWorker, echoOf } from "./helpers";

/**
 * The test bindings' ROUTE_SCOPES: `* /servers/*` needs "servers", `DELETE /admin-only/**` needs
 * "admin"; anything else needs "read" for GET/HEAD/OPTIONS and "write" otherwise.
 */

async function status(key: string, method: string, path: string): Promise<number> {
  const res = await gateway(path, { method, headers: { "x-api-key": key }, body: ["GET", "HEAD"].includes(method) ? undefined : "{}" });
  await res.arrayBuffer();
  return res.status;
}

async function neededScope(key: string, method: string, path: string): Promise<unknown> {
  const res = await gateway(path, { method, headers: { "x-api-key": key }, body: ["GET", "HEAD"].includes(method) ? undefined : "{}" });
  const error = await errorOf(res);
  expect([error.status, error.error.code]).toEqual([403, "insufficient_permissions"]);
  return error.error.details?.required_scope;
}

describe("default scopes", () => {
  it("a read-only key may GET, HEAD and OPTIONS, and gets 403 write for everything else", async () => {
    const key = await createKey({ scopes: ["read"] });
    for (const method of ["GET", "HEAD", "OPTIONS"]) expect(await status(key.key, method, "/things"), method).toBe(200);
    const before = (await originCounts())[key.id] ?? 0;
    for (const method of ["POST", "PUT", "PATCH", "DELETE"]) expect(await neededScope(key.key, method, "/things"), method).toBe("write");
    // Refused requests never reached the origin.
    expect((await originCounts())[key.id] ?? 0).toBe(before);
  });

  it("a write-only key may change things but not read them", async () => {
    const key = await createKey({ scopes: ["write"] });
    for (const method of ["POST", "PUT", "PATCH", "DELETE"]) expect(await status(key.key, method, "/things"), method).toBe(200);
    for (const method of ["GET", "OPTIONS"]) expect(await neededScope(key.key, method, "/things"), method).toBe("read");
  });

  it("the default key (read and write) may use any method outside the route rules", async () => {
    const key = await createKey();
    for (const method of ["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"]) expect(await status(key.key, method, "/things/1"), method).toBe(200);
  });

  it("scopes are exact: one named like another does not stand in for it", async () => {
    const key = await createKey({ scopes: ["reader", "write:servers", "read:servers"] });
    expect(await neededScope(key.key, "GET", "/things")).toBe("read");
    expect(await neededScope(key.key, "GET", "/servers")).toBe("servers");
  });
});

describe("ROUTE_SCOPES", () => {
  it("/servers/* covers the collection and one level below it, for every method", async () => {
    const plain = await createKey(); // read, write
    for (const path of ["/servers", "/servers/", "/servers/1", "/servers/1?x=y"]) {
      expect(await neededScope(plain.key, "GET", path), path).toBe("servers");
      expect(await neededScope(plain.key, "POST", path), path).toBe("servers");
    }
    const servers = await createKey({ scopes: ["servers"] });
    for (const method of ["GET", "POST", "DELETE"]) {
      expect(await status(servers.key, method, "/servers"), method).toBe(200);
      expect(await status(servers.key, method, "/servers/1"), method).toBe(200);
    }
  });

  it("a single * stops at a path segment, and does not match look-alike paths", async () => {
    const servers = await createKey({ scopes: ["servers"] });
    // Not covered by /servers/*, so the default rules apply and "servers" alone is not enough.
    for (const path of ["/servers/1/disks", "/serversX", "/api/servers/1"]) {
      expect(await neededScope(servers.key, "GET", path), path).toBe("read");
    }
  });

  it("a rule with a method applies to that method only; ** spans segments", async () => {
    const plain = await createKey();
    expect(await neededScope(plain.key, "DELETE", "/admin-only/a/b/c")).toBe("admin");
    expect(await neededScope(plain.key, "DELETE", "/admin-only")).toBe("admin");
    expect(await status(plain.key, "GET", "/admin-only/a/b/c")).toBe(200);
    expect(await status(plain.key, "POST", "/admin-only/a")).toBe(200);
    const adminKey = await createKey({ scopes: ["admin"] });
    expect(await status(adminKey.key, "DELETE", "/admin-only/a/b/c")).toBe(200);
  });

  it("the first matching rule wins", async () => {
    const key = await createKey({ scopes: ["one"] });
    const rules = JSON.stringify([
      { method: "GET", path: "/a/*", scope: "one" },
      { method: "*", path: "/a/**", scope: "two" },
      { path: "/a/1", scope: "three" }, // method defaults to any
    ]);
    const call = (method: string, path: string) =>
      callWorker(path, { method, headers: { "x-api-key": key.key }, body: method === "GET" ? undefined : "{}" }, { ROUTE_SCOPES: rules });
    expect((await echoOf(await call("GET", "/a/1"))).path).toBe("/a/1"); // rule 1 before rule 3
    const post = await errorOf(await call("POST", "/a/1")); // rule 2 before rule 3
    expect(post.error.details).toEqual({ required_scope: "two" });
    const deep = await errorOf(await call("GET", "/a/1/2")); // rule 1 stops at one segment
    expect(deep.error.details).toEqual({ required_scope: "two" });
  });

  it("matches methods case-insensitively in the rules", async () => {
    const key = await createKey({ scopes: ["read", "write"] });
    const rules = JSON.stringify([{ method: "post", path: "/lower", scope: "special" }]);
    const res = await callWorker("/lower", { method: "POST", headers: { "x-api-key": key.key }, body: "{}" }, { ROUTE_SCOPES: rules });
    expect((await errorOf(res)).error.details).toEqual({ required_scope: "special" });
  });

  it("a lower-case request method meets its rule (Fetch upper-cases only the standard methods)", async () => {
    const key = await createKey({ scopes: ["read", "write"] });
    const rules = JSON.stringify([{ method: "PATCH", path: "/p", scope: "patcher" }]);
    const res = await callWorker("/p", { method: "patch", headers: { "x-api-key": key.key }, body: "{}" }, { ROUTE_SCOPES: rules });
    expect((await errorOf(res)).error.details).toEqual({ required_scope: "patcher" });
  });

  it("a rule written with capitals lets a key holding just its scope through, and covers other casings", async () => {
    const reports = await createKey({ scopes: ["reports"] });
    const plain = await createKey({ scopes: ["read"] });
    const rules = JSON.stringify([{ method: "GET", path: "/api/Reports/*", scope: "reports" }]);
    const call = (key: string, path: string) => callWorker(path, { headers: { "x-api-key": key } }, { ROUTE_SCOPES: rules });
    expect((await call(reports.key, "/api/Reports/1")).status).toBe(200);
    expect((await errorOf(await call(plain.key, "/api/reports/1"))).error.details).toEqual({ required_scope: "reports" });
  });
});

describe("scope *", () => {
  it("allows every method on every path, route rules included", async () => {
    const key = await createKey({ scopes: ["*"] });
    for (const [method, path] of [["GET", "/x"], ["POST", "/x"], ["DELETE", "/x"], ["GET", "/servers/1"], ["PATCH", "/servers"], ["DELETE", "/admin-only/a/b"]]) {
      expect(await status(key.key, method!, path!), `${method} ${path}`).toBe(200);
    }
  });
});

describe("other spellings of a ruled path", () => {
  // An origin may merge slashes, decode %2F, resolve dot segments or ignore case; each such reading
  // of the path must not escape the rule that covers what it means.
  const disguises = ["//servers/1", "/servers//1", "/x/..%2Fservers/1", "/x%2F..%2Fservers/1", "/%73ervers/1", "/SERVERS/1"];

  it("need the ruled scope too, and never reach the origin without it", async () => {
    const plain = await createKey(); // read, write: no "servers"
    const before = (await originCounts())[plain.id] ?? 0;
    for (const path of disguises) expect(await neededScope(plain.key, "GET", path), path).toBe("servers");
    expect((await originCounts())[plain.id] ?? 0).toBe(before);
  });

  it("a key holding every scope the readings need passes, and the origin gets the path as sent", async () => {
    const both = await createKey({ scopes: ["read", "servers"] });
    const res = await gateway("//servers/1", { headers: { "x-api-key": both.key } });
    expect(res.status).toBe(200);
    expect((await echoOf(res)).path).toBe("//servers/1");
  });

  it("a key holding only the ruled scope still needs the default scope of the literal path", async () => {
    const servers = await createKey({ scopes: ["servers"] });
    const res = await gateway("/SERVERS/1", { headers: { "x-api-key": servers.key } });
    const error = await errorOf(res);
    expect([error.status, error.error.code, error.error.details?.required_scope]).toEqual([403, "insufficient_permissions", "read"]);
  });

  it("ordinary paths have one reading and need one scope", async () => {
    const servers = await createKey({ scopes: ["servers"] });
    expect(await status(servers.key, "GET", "/servers/1")).toBe(200);
  });
});
