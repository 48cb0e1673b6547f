import { env } from "cloudflare:workers";
import { decodeJwt, SignJWT, type JWTPayload } from "jose";
import { describe, expect, it } from "vitest";
import { admin } from "../support/client";
import { TEST_JWT_SECRET } from "../support/constants";
import { adminUser, adminWith, expectError, json, PASSWORD, signin, tokenFor } from "./support";

/**
 * How long an admin's tokens live: a password change ends all of them, and refreshing keeps a
 * session alive for at most 24 hours after the password was given.
 */

const HOUR = 3600;
const nowSeconds = () => Math.floor(Date.now() / 1000);

/** A token made exactly as keygate makes them, with chosen claims (the tests hold JWT_SECRET). */
function tokenWith(claims: JWTPayload): Promise<string> {
  const now = nowSeconds();
  return new SignJWT({ role: "owner", epoch: 0, auth_time: now, ...claims })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer("keygate")
    .setAudience("keygate-admin")
    .setJti(`jti_test${now}`)
    .setIssuedAt(now)
    .setExpirationTime(now + HOUR)
    .sign(new TextEncoder().encode(TEST_JWT_SECRET));
}

const refresh = (token: string) => signin({ grant_type: "refresh" }, { authorization: `Bearer ${token}` });

async function epochOf(id: string): Promise<number | null> {
  return env.DB.prepare("SELECT session_epoch FROM admins WHERE id = ?").bind(id).first<number>("session_epoch");
}

describe("a password change", () => {
  it("ends every token the admin holds, on the API and for refresh; signing in with the new password works", async () => {
    const owner = await adminUser("owner");
    const target = await adminUser("admin");
    const second = await tokenFor(target.email);
    for (const token of [target.token, second]) expect((await admin("GET", "/tenants", undefined, token)).status).toBe(200);
    expect(await epochOf(target.id)).toBe(0);

    await json(await admin("PATCH", `/admins/${target.id}`, { password: "a brand new passphrase" }, owner.token), 200);
    expect(await epochOf(target.id)).toBe(1);

    for (const token of [target.token, second]) {
      await expectError(await adminWith(token, "GET", "/tenants"), 401, "invalid_token");
      await expectError(await refresh(token), 401, "invalid_token");
    }
    const fresh = await tokenFor(target.email, "a brand new passphrase");
    expect(decodeJwt(fresh).epoch).toBe(1);
    expect((await admin("GET", "/tenants", undefined, fresh)).status).toBe(200);
  });

  it("of one's own password ends one's own token too", async () => {
    const owner = await adminUser("owner");
    await json(await admin("PATCH", `/admins/${owner.id}`, { password: "my own new passphrase" }, owner.token), 200);
    await expectError(await adminWith(owner.token, "GET", "/tenants"), 401, "invalid_token");
  });

  it("is the only change that ends tokens: a role change applies to the existing token instead", async () => {
    const target = await adminUser("viewer");
    await json(await admin("PATCH", `/admins/${target.id}`, { role: "admin" }), 200);
    expect(await epochOf(target.id)).toBe(0);
    expect((await admin("POST", "/tenants", { name: "by the promoted admin" }, target.token)).status).toBe(201);
  });
});

describe("refresh", () => {
  it("carries the original sign-in time (auth_time) into every refreshed token", async () => {
    const target = await adminUser("admin");
    const signedIn = decodeJwt(target.token);
    expect(signedIn.auth_time).toBe(signedIn.iat);
    expect(signedIn.epoch).toBe(0);
    const once = (await json<{ access_token: string }>(await refresh(target.token), 200)).access_token;
    const twice = (await json<{ access_token: string }>(await refresh(once), 200)).access_token;
    expect(decodeJwt(once).auth_time).toBe(signedIn.auth_time);
    expect(decodeJwt(twice).auth_time).toBe(signedIn.auth_time);
  });

  it("works up to 24 hours after the password was given, and is refused after; the token itself stays valid until it expires", async () => {
    const owner = await adminUser("owner");
    const recent = await tokenWith({ sub: owner.id, auth_time: nowSeconds() - 23 * HOUR });
    const renewed = (await json<{ access_token: string }>(await refresh(recent), 200)).access_token;
    expect(decodeJwt(renewed).auth_time).toBe(decodeJwt(recent).auth_time);

    const old = await tokenWith({ sub: owner.id, auth_time: nowSeconds() - 24 * HOUR - 60 });
    const refused = await expectError(await refresh(old), 401, "invalid_token");
    expect(refused.error.message).toMatch(/sign in/i);
    // Within its own hour the token still works; only its renewal is over.
    expect((await admin("GET", "/tenants", undefined, old)).status).toBe(200);
    // A fresh password sign-in starts a new 24 hours.
    const fresh = await signin({ grant_type: "password", email: owner.email, password: PASSWORD });
    expect((await json<{ access_token: string }>(fresh, 200)).access_token).toBeTruthy();
  });
});
