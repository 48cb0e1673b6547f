import { describe, expect, it } from "vitest";
import { createKey } from "../support/client";
import { verifyOverHttp } from "../support/verify";
import { adminUser, adminWith, expectError, storedState } from "./support";

describe("POST /keys/verify: who may call it", () => {
  it("the root token, owners, admins and verifiers; not viewers, whose reads must not use up a key's window", async () => {
    const key = await createKey();
    for (const role of ["owner", "admin", "verifier"] as const) {
      const { token } = await adminUser(role);
      const { status, body } = await verifyOverHttp({ key: key.key }, token);
      expect(status, role).toBe(200);
      expect(body.valid).toBe(true);
    }
    const viewer = await adminUser("viewer");
    await expectError(await adminWith(viewer.token, "POST", "/keys/verify", { key: key.key }), 403, "insufficient_permissions");
    expect((await verifyOverHttp({ key: key.key })).body.ratelimit!.remaining).toBe(60 - 4);
  });

  it("a verifier may verify and do nothing else", async () => {
    const verifier = await adminUser("verifier");
    const key = await createKey();
    const tries: [string, string, unknown?][] = [
      ["GET", "/keys"],
      ["GET", `/keys/${key.id}`],
      ["GET", `/keys/${key.id}/usage`],
      ["GET", "/tenants"],
      ["POST", "/tenants", { name: "x" }],
      ["POST", "/keys", { tenant_id: key.tenant_id }],
      ["POST", `/keys/${key.id}/revoke`],
      ["GET", "/audit-events"],
      ["GET", "/admins"],
    ];
    for (const [method, path, body] of tries) {
      await expectError(await adminWith(verifier.token, method, path, body), 403, "insufficient_permissions");
    }
    expect((await verifyOverHttp({ key: key.key }, verifier.token)).body.valid).toBe(true);
  });
});

describe("POST /keys/verify: bad input", () => {
  it("400 invalid_request, and neither D1 nor the key's window changes", async () => {
    const key = await createKey();
    const before = await storedState();
    const bad: unknown[] = [
      {},
      { key: 42 },
      { key: "" },
      { key: "k".repeat(10_000) },
      { key: key.key, scopes: "read" },
      { key: key.key, scopes: ["not a scope"] },
      { key: key.key, method: 5 },
      { key: key.key, method: "GET /x" },
      { key: key.key, path: "no-slash" },
      { key: key.key, unknown: 1 },
      [key.key],
      "not json",
    ];
    for (const body of bad) {
      const { status, body: answer } = await verifyOverHttp(body);
      expect(status, JSON.stringify(body).slice(0, 60)).toBe(400);
      expect(answer.error?.code).toBe("invalid_request");
    }
    expect(await storedState()).toEqual(before);
    expect((await verifyOverHttp({ key: key.key })).body.ratelimit!.remaining).toBe(59);
  });
});
