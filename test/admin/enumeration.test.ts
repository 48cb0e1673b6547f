import { describe, expect, it } from "vitest";
import { hashPassword, verifyNothing, verifyPassword } from "../../src/identity/passwords";
import { createKey, createTenant, errorOf } from "../support/client";
import { adminUser, asKey, signin, uniqueEmail } from "./support";

/** An error that differs between "does not exist" and "not yours" (or "wrong password") tells secrets. */

async function errorShape(res: Response) {
  const { status, error } = await errorOf(res);
  return { status, error };
}

describe("no enumeration", () => {
  it("gives a tenant's key the same 404 for another tenant's key as for an id that does not exist", async () => {
    const manager = await createKey({ scopes: ["keys:manage", "read", "write"] });
    const foreign = await createKey({ tenant_id: (await createTenant("Other")).id });
    const unknown = "key_00000000000000000000";
    for (const [method, suffix, body] of [
      ["GET", "", undefined],
      ["GET", "/usage", undefined],
      ["POST", "/rotate", { grace_seconds: 5 }],
      ["POST", "/revoke", undefined],
    ] as [string, string, unknown][]) {
      const forForeign = await errorShape(await asKey(manager.key, method, `/keys/${foreign.id}${suffix}`, body));
      const forUnknown = await errorShape(await asKey(manager.key, method, `/keys/${unknown}${suffix}`, body));
      expect(forForeign).toEqual(forUnknown);
      expect(forForeign.status).toBe(404);
    }
    const createForeign = await errorShape(await asKey(manager.key, "POST", "/keys", { tenant_id: foreign.tenant_id, scopes: ["read"] }));
    const createUnknown = await errorShape(await asKey(manager.key, "POST", "/keys", { tenant_id: "ten_00000000000000000000", scopes: ["read"] }));
    expect(createForeign).toEqual(createUnknown);
    expect(createForeign.status).toBe(404);
  });

  it("gives an unknown email and a wrong password the same 401 invalid_credentials", async () => {
    const owner = await adminUser("owner");
    const wrong = await errorShape(await signin({ grant_type: "password", email: owner.email, password: "not the password" }));
    const unknown = await errorShape(await signin({ grant_type: "password", email: uniqueEmail("ghost"), password: "not the password" }));
    expect(wrong).toEqual(unknown);
    expect(wrong).toEqual({ status: 401, error: { code: "invalid_credentials", message: expect.any(String), details: null } });
  });

  it("spends a full PBKDF2 on an unknown email, as on a wrong password, so timing does not tell either", async () => {
    // Measured on the two functions the sign-in route calls (through HTTP the derivation is lost
    // in the noise of a shared machine). Skipping the dummy derivation would make the first a
    // no-op, hundreds of times faster; the bound is loose so a busy machine cannot flake it.
    const stored = await hashPassword("the real password");
    const fastest = async (run: () => Promise<unknown>) => {
      let best = Number.POSITIVE_INFINITY;
      for (let i = 0; i < 5; i++) {
        const started = performance.now();
        await run();
        best = Math.min(best, performance.now() - started);
      }
      return best;
    };
    const wrongPassword = await fastest(() => verifyPassword("a guess", stored));
    const unknownEmail = await fastest(() => verifyNothing("a guess"));
    expect(await verifyNothing("the real password")).toBe(false);
    expect(unknownEmail).toBeGreaterThan(wrongPassword * 0.5);
  });
});
