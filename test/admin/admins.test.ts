import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { PBKDF2_ITERATIONS } from "../../src/identity/passwords";
import { fromHex, toHex } from "../../src/keys/hash";
import { admin } from "../support/client";
import { PASSWORD, adminUser, adminWith, expectError, failingFields, json, signin, storedState, tokenFor, uniqueEmail } from "./support";

interface AdminBody {
  id: string;
  object: string;
  email: string;
  role: string;
  created_at: string;
  updated_at: string;
  last_signin_at: string | null;
}

async function storedVerifier(id: string) {
  return env.DB.prepare("SELECT password_hash, password_salt, password_iterations FROM admins WHERE id = ?")
    .bind(id)
    .first<{ password_hash: string; password_salt: string; password_iterations: number }>();
}

/** PBKDF2-SHA256 computed here, independently of the code under test. */
async function pbkdf2(password: string, saltHex: string, iterations: number): Promise<string> {
  const material = await crypto.subtle.importKey("raw", new TextEncoder().encode(password), "PBKDF2", false, ["deriveBits"]);
  return toHex(await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt: fromHex(saltHex), iterations }, material, 256));
}

describe("POST /admins", () => {
  it("lets the ADMIN_TOKEN create the first owner, who can then sign in", async () => {
    const email = uniqueEmail("first-owner");
    const created = await json<AdminBody>(await admin("POST", "/admins", { email, password: PASSWORD, role: "owner" }), 201);
    expect(created).toMatchObject({ object: "admin", email, role: "owner", last_signin_at: null });
    expect(created.id).toMatch(/^adm_[0-9A-Za-z]{20}$/);
    expect(JSON.stringify(created)).not.toContain(PASSWORD);
    expect(await tokenFor(email)).toMatch(/^ey/);
  });

  it("stores a PBKDF2-SHA256 verifier at exactly 100,000 iterations (Cloudflare's production cap), salted per user", async () => {
    expect(PBKDF2_ITERATIONS).toBe(100_000);
    const a = await adminUser("viewer");
    const b = await adminUser("viewer");
    const [va, vb] = [(await storedVerifier(a.id))!, (await storedVerifier(b.id))!];
    expect(va.password_iterations).toBe(100_000);
    expect(vb.password_iterations).toBe(100_000);
    expect(va.password_salt).toMatch(/^[0-9a-f]{32}$/);
    // Same password, different salts, different hashes: no precomputation across users.
    expect(va.password_salt).not.toBe(vb.password_salt);
    expect(va.password_hash).not.toBe(vb.password_hash);
    expect(va.password_hash).toBe(await pbkdf2(PASSWORD, va.password_salt, 100_000));
    const row = await env.DB.prepare("SELECT * FROM admins WHERE id = ?").bind(a.id).first();
    expect(JSON.stringify(row)).not.toContain(PASSWORD);
  });

  it("lets an owner create admins of every role; emails are case-insensitive and unique (409)", async () => {
    const owner = await adminUser("owner");
    const email = uniqueEmail("Mixed.Case");
    const created = await json<AdminBody>(await admin("POST", "/admins", { email: email.toUpperCase(), password: PASSWORD, role: "admin" }, owner.token), 201);
    expect(created.email).toBe(email.toLowerCase());
    await expectError(await admin("POST", "/admins", { email: email.toLowerCase(), password: "another password!", role: "viewer" }, owner.token), 409, "conflict");
    expect(await tokenFor(email.toLowerCase())).toBeTruthy();
  });

  it("refuses bad input with the failing fields named, and stores nothing", async () => {
    const before = await storedState();
    expect(await failingFields(await admin("POST", "/admins", { email: "not-an-email", password: PASSWORD, role: "owner" }))).toEqual(["email"]);
    expect(await failingFields(await admin("POST", "/admins", { email: uniqueEmail(), password: "short", role: "owner" }))).toEqual(["password"]);
    expect(await failingFields(await admin("POST", "/admins", { email: uniqueEmail(), password: PASSWORD, role: "root" }))).toEqual(["role"]);
    expect(await failingFields(await admin("POST", "/admins", { email: uniqueEmail(), password: PASSWORD, role: "owner", is_super: true }))).toEqual(["body"]);
    expect(await failingFields(await admin("POST", "/admins", { email: uniqueEmail(), password: 123456789012, role: "owner" }))).toEqual(["password"]);
    expect(await storedState()).toEqual(before);
  });
});

describe("GET, PATCH, DELETE /admins", () => {
  it("lists admins with pagination and never shows a password verifier", async () => {
    const owner = await adminUser("owner");
    for (let i = 0; i < 3; i++) await adminUser("viewer");
    const seen = new Set<string>();
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `?limit=2&cursor=${cursor}` : "?limit=2";
      const page = await json<{ object: string; data: AdminBody[]; has_more: boolean; next_cursor: string | null }>(await admin("GET", `/admins${query}`, undefined, owner.token), 200);
      expect(page.object).toBe("list");
      expect(page.data.length).toBeLessThanOrEqual(2);
      for (const a of page.data) {
        expect(seen.has(a.id)).toBe(false);
        seen.add(a.id);
        expect(Object.keys(a).sort()).toEqual(["created_at", "email", "id", "last_signin_at", "object", "role", "updated_at"]);
      }
      cursor = page.next_cursor;
      expect(cursor !== null).toBe(page.has_more);
    } while (cursor);
    const total = await env.DB.prepare("SELECT COUNT(*) AS n FROM admins").first<number>("n");
    expect(seen.size).toBe(total);
  });

  it("gets one admin; unknown ids are 404; sign-in time is recorded", async () => {
    const owner = await adminUser("owner");
    const got = await json<AdminBody>(await admin("GET", `/admins/${owner.id}`, undefined, owner.token), 200);
    expect(got.email).toBe(owner.email);
    expect(Date.parse(got.last_signin_at!)).toBeGreaterThan(Date.now() - 60_000);
    await expectError(await admin("GET", "/admins/adm_doesnotexist000000000", undefined, owner.token), 404, "not_found");
    expect(await failingFields(await admin("GET", "/admins/key_abc", undefined, owner.token))).toEqual(["id"]);
  });

  it("changes a role (in force for the admin's existing token at once) and a password (the old one stops working)", async () => {
    const owner = await adminUser("owner");
    const target = await adminUser("viewer");
    await expectError(await admin("POST", "/tenants", { name: "before promotion" }, target.token), 403, "insufficient_permissions");

    const promoted = await json<AdminBody>(await admin("PATCH", `/admins/${target.id}`, { role: "admin" }, owner.token), 200);
    expect(promoted.role).toBe("admin");
    expect((await admin("POST", "/tenants", { name: "after promotion" }, target.token)).status).toBe(201);

    await json(await admin("PATCH", `/admins/${target.id}`, { password: "a brand new passphrase" }, owner.token), 200);
    await expectError(await signin({ grant_type: "password", email: target.email, password: PASSWORD }), 401, "invalid_credentials");
    expect(await tokenFor(target.email, "a brand new passphrase")).toBeTruthy();
    const verifier = (await storedVerifier(target.id))!;
    expect(verifier.password_iterations).toBe(100_000);

    expect(await failingFields(await admin("PATCH", `/admins/${target.id}`, {}, owner.token))).toEqual(["body"]);
    expect(await failingFields(await admin("PATCH", `/admins/${target.id}`, { email: "x@example.com" }, owner.token))).toEqual(["body"]);
  });

  it("deletes an admin: their token stops working on the next call", async () => {
    const owner = await adminUser("owner");
    const target = await adminUser("admin");
    expect((await admin("GET", "/tenants", undefined, target.token)).status).toBe(200);
    const res = await admin("DELETE", `/admins/${target.id}`, undefined, owner.token);
    expect(res.status).toBe(204);
    await expectError(await adminWith(target.token, "GET", "/tenants"), 401, "invalid_token");
    await expectError(await admin("DELETE", `/admins/${target.id}`, undefined, owner.token), 404, "not_found");
  });
});
