import { decodeJwt, generateKeyPair, SignJWT, UnsecuredJWT, type JWTPayload } from "jose";
import { describe, expect, it } from "vitest";
import { systemClock } from "../../src/clock";
import { moveClockTo } from "../support/clock";
import { admin } from "../support/client";
import { TEST_JWT_SECRET } from "../support/constants";
import { adminUser, adminWith, expectError, signin, storedState } from "./support";

/**
 * Every way to make a token without JWT_SECRET, or to stretch one past its life, must be refused
 * with 401 invalid_token, on the API and on refresh alike.
 */

const secret = (s: string) => new TextEncoder().encode(s);
const b64url = (value: unknown) => btoa(JSON.stringify(value)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

function claimsFor(sub: string, role = "owner", overrides: JWTPayload = {}): JWTPayload {
  const now = Math.floor(systemClock.now() / 1000);
  return { sub, role, iss: "keygate", aud: "keygate-admin", jti: `jti_forged${now}`, iat: now, exp: now + 3600, epoch: 0, auth_time: now, ...overrides };
}

function sign(payload: JWTPayload, key: Uint8Array | CryptoKey, alg = "HS256"): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg, typ: "JWT" }).sign(key);
}

async function expectRefused(token: string) {
  const res = await adminWith(token, "POST", "/tenants", { name: "forged" });
  const error = await expectError(res, 401, "invalid_token");
  expect(res.headers.get("www-authenticate")).toBe('Bearer realm="keygate-admin", error="invalid_token"');
  await expectError(await signin({ grant_type: "refresh" }, { authorization: `Bearer ${token}` }), 401, "invalid_token");
  return error;
}

describe("forged and stale admin tokens", () => {
  it("accepts the control: a token made exactly as keygate makes them", async () => {
    const owner = await adminUser("owner");
    const token = await sign(claimsFor(owner.id), secret(TEST_JWT_SECRET));
    expect((await admin("GET", "/tenants", undefined, token)).status).toBe(200);
  });

  it("refuses a token signed with another secret", async () => {
    const owner = await adminUser("owner");
    await expectRefused(await sign(claimsFor(owner.id), secret("some-other-secret-that-is-long-enough-000000")));
  });

  it('refuses alg "none", with or without a signature part', async () => {
    const owner = await adminUser("owner");
    const unsigned = new UnsecuredJWT(claimsFor(owner.id)).encode();
    await expectRefused(unsigned);
    const [, payload] = owner.token.split(".");
    await expectRefused(`${b64url({ alg: "none", typ: "JWT" })}.${payload}.`);
    await expectRefused(`${b64url({ alg: "none", typ: "JWT" })}.${payload}.${owner.token.split(".")[2]}`);
  });

  it("refuses HS512 and HS384 even with the right secret (the algorithm is pinned)", async () => {
    const owner = await adminUser("owner");
    await expectRefused(await sign(claimsFor(owner.id), secret(TEST_JWT_SECRET), "HS512"));
    await expectRefused(await sign(claimsFor(owner.id), secret(TEST_JWT_SECRET), "HS384"));
  });

  it("refuses RS256 and ES256 tokens (no public-key confusion)", async () => {
    const owner = await adminUser("owner");
    const rsa = await generateKeyPair("RS256");
    await expectRefused(await sign(claimsFor(owner.id), rsa.privateKey, "RS256"));
    const ec = await generateKeyPair("ES256");
    await expectRefused(await sign(claimsFor(owner.id), ec.privateKey, "ES256"));
  });

  it("refuses an expired token, on the API and for refresh", async () => {
    const owner = await adminUser("owner");
    const past = Math.floor(systemClock.now() / 1000) - 7200;
    await expectRefused(await sign(claimsFor(owner.id, "owner", { iat: past, exp: past + 3600 }), secret(TEST_JWT_SECRET)));
  });

  it("refuses a token whose payload or signature was altered", async () => {
    const viewer = await adminUser("viewer");
    const [header, payload, signature] = viewer.token.split(".") as [string, string, string];
    const promoted = b64url({ ...decodeJwt(viewer.token), role: "owner" });
    await expectRefused(`${header}.${promoted}.${signature}`);
    const extended = b64url({ ...decodeJwt(viewer.token), exp: Math.floor(systemClock.now() / 1000) + 86_400 * 365 });
    await expectRefused(`${header}.${extended}.${signature}`);
    const flipped = signature.slice(0, -2) + (signature.at(-2) === "A" ? "B" : "A") + signature.at(-1);
    await expectRefused(`${header}.${payload}.${flipped}`);
    await expectRefused(`${header}.${payload}.`);
  });

  it("refuses tokens with the right secret but the wrong issuer, audience, type or missing claims", async () => {
    const owner = await adminUser("owner");
    const key = secret(TEST_JWT_SECRET);
    await expectRefused(await sign(claimsFor(owner.id, "owner", { iss: "someone-else" }), key));
    await expectRefused(await sign(claimsFor(owner.id, "owner", { aud: "another-service" }), key));
    await expectRefused(await sign(claimsFor(owner.id, "owner", { jti: undefined }), key));
    await expectRefused(await sign(claimsFor(owner.id, "owner", { exp: undefined }), key));
    await expectRefused(await sign(claimsFor(owner.id, "owner", { epoch: undefined }), key));
    await expectRefused(await sign(claimsFor(owner.id, "owner", { auth_time: undefined }), key));
    await expectRefused(await sign(claimsFor(owner.id, "owner", { epoch: "0" }), key));
    await expectRefused(await sign(claimsFor(owner.id, "superuser"), key));
    const otherType = await new SignJWT(claimsFor(owner.id)).setProtectedHeader({ alg: "HS256", typ: "at+jwt+other" }).sign(key);
    await expectRefused(otherType);
  });

  it("refuses a well-signed token of another session epoch (as before a password change)", async () => {
    const owner = await adminUser("owner");
    await expectRefused(await sign(claimsFor(owner.id, "owner", { epoch: 1 }), secret(TEST_JWT_SECRET)));
    await expectRefused(await sign(claimsFor(owner.id, "owner", { epoch: -1 }), secret(TEST_JWT_SECRET)));
  });

  it("refuses a well-signed token for an admin that does not exist", async () => {
    await expectRefused(await sign(claimsFor("adm_00000000000000000000"), secret(TEST_JWT_SECRET)));
  });

  it("takes the role from D1, not from the token: a role claim cannot escalate", async () => {
    const viewer = await adminUser("viewer");
    const before = await storedState();
    const claimsOwner = await sign(claimsFor(viewer.id, "owner"), secret(TEST_JWT_SECRET));
    await expectError(await admin("POST", "/tenants", { name: "escalated" }, claimsOwner), 403, "insufficient_permissions");
    expect(await storedState()).toEqual(before);
  });

  it("refuses a refresh with an expired token, so a stolen old token cannot be renewed", async () => {
    const owner = await adminUser("owner");
    const past = Math.floor(systemClock.now() / 1000) - 3601;
    const expired = await sign(claimsFor(owner.id, "owner", { iat: past - 1, exp: past + 1 }), secret(TEST_JWT_SECRET));
    await expectError(await signin({ grant_type: "refresh" }, { authorization: `Bearer ${expired}` }), 401, "invalid_token");
  });

  it("refuses a token keygate issued from the second its exp says, by keygate's clock", async () => {
    const owner = await adminUser("owner");
    const expiresAt = decodeJwt(owner.token).exp! * 1000;
    moveClockTo(expiresAt - 1000);
    expect((await admin("GET", "/tenants", undefined, owner.token)).status).toBe(200);
    moveClockTo(expiresAt);
    await expectRefused(owner.token);
  });
});
