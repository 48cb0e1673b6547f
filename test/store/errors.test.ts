import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { insertAdmin, type AdminRow } from "../../src/store/admin-repo";
import { isUniqueViolation, StorageError } from "../../src/store/errors";

/** What D1 itself raises for a refused write, told apart by isUniqueViolation. */

async function refusal(write: () => Promise<unknown>): Promise<unknown> {
  try {
    await write();
  } catch (error) {
    return error;
  }
  throw new Error("the write was not refused");
}

const adminRow = (id: string, email: string, role = "viewer"): AdminRow =>
  ({ id, email, role, password_hash: "", password_salt: "00", password_iterations: 1, created_at: 0, updated_at: 0, last_signin_at: null, session_epoch: 0 }) as AdminRow;

describe("isUniqueViolation", () => {
  it("is true for a unique index or primary key that holds the value already, alone or in a batch, and through a StorageError", async () => {
    await insertAdmin(env.DB, adminRow("adm_unique1", "unique@example.com")).run();
    const email = await refusal(() => insertAdmin(env.DB, adminRow("adm_unique2", "unique@example.com")).run());
    expect(isUniqueViolation(email)).toBe(true);
    expect(isUniqueViolation(await refusal(() => env.DB.batch([insertAdmin(env.DB, adminRow("adm_unique1", "other@example.com"))])))).toBe(true);
    expect(isUniqueViolation(new StorageError("an insert", email))).toBe(true);
  });

  it("is false for any other refusal", async () => {
    expect(isUniqueViolation(await refusal(() => insertAdmin(env.DB, adminRow("adm_unique3", "role@example.com", "emperor")).run()))).toBe(false);
    expect(isUniqueViolation(await refusal(() => env.DB.prepare("SELECT * FROM no_such_table").all()))).toBe(false);
    expect(isUniqueViolation(null)).toBe(false);
  });
});
