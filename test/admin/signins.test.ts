import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { readConfig } from "../../src/config";
import { ADMIN_TOKEN, admin, createKey, uniqueIp } from "../support/client";
import { BASE, PASSWORD, adminUser, expectError, failingFields, json, signin, storedState, uniqueEmail } from "./support";

interface TokenBody {
  access_token: string;
  token_type: string;
  expires_in: number;
}

/** The sign-in limits this test's bindings give (SIGNIN_LIMIT_PER_EMAIL, SIGNIN_LIMIT_PER_IP). */
const SIGNIN_LIMITS = readConfig(env).passwordAttempts;

const password = (email: string, pw = PASSWORD) => ({ grant_type: "password", email, password: pw });

describe("password grant", () => {
  it("returns a 1-hour HS256 JWT carrying sub, role, iat, exp and jti", async () => {
    const owner = await adminUser("owner");
    const body = await json<TokenBody>(await signin(password(owner.email)), 200);
    expect(body.token_type).toBe("Bearer");
    expect(body.expires_in).toBe(3600);
    expect(decodeProtectedHeader(body.access_token)).toEqual({ alg: "HS256", typ: "JWT" });
    const claims = decodeJwt(body.access_token);
    expect(claims).toMatchObject({ sub: owner.id, role: "owner" });
    expect(claims.exp! - claims.iat!).toBe(3600);
    expect(Math.abs(claims.iat! - Date.now() / 1000)).toBeLessThan(60);
    expect(claims.jti).toMatch(/^jti_/);
    expect(decodeJwt(owner.token).jti).not.toBe(claims.jti);
    // The token works on the admin API.
    expect((await admin("GET", "/tenants", undefined, body.access_token)).status).toBe(200);
  });

  it("accepts the email in any case, and records the sign-in in the audit trail", async () => {
    const viewer = await adminUser("viewer");
    const res = await signin(password(`  ${viewer.email.toUpperCase()} `));
    const requestId = res.headers.get("x-request-id");
    await json(res, 200);
    const event = await env.DB.prepare("SELECT * FROM audit_events WHERE request_id = ?").bind(requestId).first();
    expect(event).toMatchObject({ action: "admin.signed_in", actor_type: "admin", actor_id: viewer.id, resource_id: viewer.id });
  });

  it("refuses a wrong password with 401 invalid_credentials", async () => {
    const owner = await adminUser("owner");
    await expectError(await signin(password(owner.email, "wrong password!!")), 401, "invalid_credentials");
  });

  it("validates the body: grant type, unknown fields, wrong types, malformed JSON", async () => {
    expect(await failingFields(await signin({ grant_type: "client_credentials" }))).toEqual(["grant_type"]);
    expect(await failingFields(await signin({ email: "a@example.com", password: "x" }))).toEqual(["grant_type"]);
    expect(await failingFields(await signin({ grant_type: "password", email: "a@example.com" }))).toEqual(["password"]);
    expect(await failingFields(await signin({ grant_type: "password", email: "a@example.com", password: 5 }))).toEqual(["password"]);
    expect(await failingFields(await signin({ grant_type: "password", email: "a@example.com", password: "x", scope: "root" }))).toEqual(["body"]);
    expect(await failingFields(await signin({ grant_type: "refresh", email: "a@example.com" }))).toEqual(["body"]);
    expect(await failingFields(await signin('{"grant_type": "password",'))).toEqual(["body"]);
  });

  it("answers 500 configuration_error, not a weak token, when JWT_SECRET is missing or short, recording nothing", async () => {
    const owner = await adminUser("owner");
    const before = await storedState();
    for (const JWT_SECRET of [undefined, "too-short"]) {
      const ctx = createExecutionContext();
      const res = await worker.fetch(
        new Request(`${BASE}/_keygate/v1/signins`, {
          method: "POST",
          headers: { "content-type": "application/json", "cf-connecting-ip": uniqueIp() },
          body: JSON.stringify(password(owner.email)),
        }),
        { ...env, JWT_SECRET } as Env,
        ctx,
      );
      await waitOnExecutionContext(ctx);
      await expectError(res, 500, "configuration_error");
    }
    expect(await storedState()).toEqual(before);
  });
});

describe("refresh grant", () => {
  it("exchanges a valid token for a fresh one (new jti, same admin and role)", async () => {
    const admin1 = await adminUser("admin");
    const body = await json<TokenBody>(await signin({ grant_type: "refresh" }, { authorization: `Bearer ${admin1.token}` }), 200);
    expect(body).toMatchObject({ token_type: "Bearer", expires_in: 3600 });
    const [before, after] = [decodeJwt(admin1.token), decodeJwt(body.access_token)];
    expect(after).toMatchObject({ sub: admin1.id, role: "admin" });
    expect(after.jti).not.toBe(before.jti);
    expect((await admin("GET", "/keys", undefined, body.access_token)).status).toBe(200);
  });

  it("needs an admin's JWT: none, the ADMIN_TOKEN, an API key or garbage are refused", async () => {
    const key = await createKey({ scopes: ["keys:manage"] });
    await expectError(await signin({ grant_type: "refresh" }), 401, "missing_credentials");
    await expectError(await signin({ grant_type: "refresh" }, { authorization: `Bearer ${ADMIN_TOKEN}` }), 401, "invalid_token");
    await expectError(await signin({ grant_type: "refresh" }, { authorization: `Bearer ${key.key}` }), 401, "invalid_token");
    await expectError(await signin({ grant_type: "refresh" }, { authorization: "Bearer not.a.jwt" }), 401, "invalid_token");
    await expectError(await signin({ grant_type: "refresh" }, { authorization: "Basic Zm9vOmJhcg==" }), 401, "invalid_token");
  });

  it("refuses a deleted admin's token, so deletion cannot be outlived by refreshing", async () => {
    const target = await adminUser("viewer");
    expect((await admin("DELETE", `/admins/${target.id}`)).status).toBe(204);
    await expectError(await signin({ grant_type: "refresh" }, { authorization: `Bearer ${target.token}` }), 401, "invalid_token");
  });
});

describe("attempt limits", () => {
  it(`locks an email after ${SIGNIN_LIMITS.perEmail.limit} failures, even for the right password, from any address`, async () => {
    const owner = await adminUser("owner");
    for (let i = 0; i < SIGNIN_LIMITS.perEmail.limit; i++) {
      await expectError(await signin(password(owner.email, `wrong guess ${i}`)), 401, "invalid_credentials");
    }
    const locked = await signin(password(owner.email));
    await expectError(locked, 429, "too_many_failed_attempts");
    expect(Number(locked.headers.get("retry-after"))).toBeGreaterThan(0);
    await expectError(await signin(password(owner.email, "another guess")), 429, "too_many_failed_attempts");
    // Other admins are not affected.
    const other = await adminUser("viewer");
    expect((await signin(password(other.email))).status).toBe(200);
  });

  it("locks unknown emails the same way (no difference to probe)", async () => {
    const email = uniqueEmail("nobody");
    for (let i = 0; i < SIGNIN_LIMITS.perEmail.limit; i++) {
      await expectError(await signin(password(email, `guess ${i}`)), 401, "invalid_credentials");
    }
    await expectError(await signin(password(email, "guess")), 429, "too_many_failed_attempts");
  });

  it("counts failures since the last successful sign-in", async () => {
    const owner = await adminUser("owner");
    const fail = async () => expectError(await signin(password(owner.email, "nope nope nope")), 401, "invalid_credentials");
    for (let i = 0; i < SIGNIN_LIMITS.perEmail.limit - 1; i++) await fail();
    expect((await signin(password(owner.email))).status).toBe(200);
    for (let i = 0; i < SIGNIN_LIMITS.perEmail.limit - 1; i++) await fail();
    expect((await signin(password(owner.email))).status).toBe(200);
  });

  it(`limits one client address to ${SIGNIN_LIMITS.perIp.limit} attempts, whichever emails it tries`, async () => {
    const owner = await adminUser("owner");
    const ip = uniqueIp();
    for (let i = 0; i < SIGNIN_LIMITS.perIp.limit; i++) {
      await expectError(await signin(password(uniqueEmail("spray"), "Winter2026!!"), { ip }), 401, "invalid_credentials");
    }
    await expectError(await signin(password(owner.email), { ip }), 429, "too_many_failed_attempts");
    expect((await signin(password(owner.email), { ip: uniqueIp() })).status).toBe(200);
  });
});

describe("failed sign-ins in the audit trail", () => {
  interface Event {
    action: string;
    actor: { type: string; id: string };
    resource: { type: string; id: string };
    request_id: string;
    details: Record<string, unknown> | null;
  }
  const eventsOf = async (query: string): Promise<Event[]> => (await json<{ data: Event[] }>(await admin("GET", `/audit-events?${query}`), 200)).data;
  // Each test its own address: the audit trail is filtered by it, so two tests must never share one.
  let lastHost = 0;
  const ipv4 = () => `192.0.2.${++lastHost}`;

  it("records a wrong password and an unknown email alike: the email tried, the client's address, the request, one reason", async () => {
    const owner = await adminUser("owner");
    const nobody = uniqueEmail("nobody");
    for (const email of [owner.email, nobody]) {
      const ip = uniqueIp();
      const res = await signin(password(email, "not the password"), { ip });
      const requestId = res.headers.get("x-request-id")!;
      await expectError(res, 401, "invalid_credentials");
      const [event, ...more] = await eventsOf(`request_id=${requestId}`);
      expect(more).toEqual([]);
      expect(event).toMatchObject({
        action: "signin.failed",
        actor: { type: "client", id: ip },
        resource: { type: "signin", id: email },
        request_id: requestId,
        details: { email, ip, reason: "invalid_credentials" },
      });
    }
  });

  it("shows password spraying: every email one address tried, under that address", async () => {
    const ip = ipv4();
    const emails = [uniqueEmail("spray"), uniqueEmail("spray"), uniqueEmail("spray")];
    for (const email of emails) await expectError(await signin(password(email, "Winter2026!!"), { ip }), 401, "invalid_credentials");
    const events = await eventsOf(`actor_id=${ip}&action=signin.failed`);
    expect(events.map((e) => e.resource.id).sort()).toEqual([...emails].sort());
  });

  it("records the start of a throttling block once, not every refused attempt", async () => {
    const email = uniqueEmail("locked");
    for (let i = 0; i < SIGNIN_LIMITS.perEmail.limit; i++) await expectError(await signin(password(email, `guess ${i}`)), 401, "invalid_credentials");
    const ip = uniqueIp();
    await expectError(await signin(password(email, "guess"), { ip }), 429, "too_many_failed_attempts");
    await expectError(await signin(password(email, "guess")), 429, "too_many_failed_attempts");
    const throttled = await eventsOf(`resource_id=${encodeURIComponent(email)}&action=signin.throttled`);
    expect(throttled).toHaveLength(1);
    expect(throttled[0]).toMatchObject({ actor: { type: "client", id: ip }, details: { email, reason: "too_many_attempts", limits: ["email"] } });
    expect(await eventsOf(`resource_id=${encodeURIComponent(email)}&action=signin.failed`)).toHaveLength(SIGNIN_LIMITS.perEmail.limit);
  });

  it("records nothing for a successful sign-in but admin.signed_in, and nothing for a malformed request", async () => {
    const viewer = await adminUser("viewer");
    const ip = ipv4();
    expect((await signin(password(viewer.email), { ip })).status).toBe(200);
    await expectError(await signin({ grant_type: "password", email: viewer.email }, { ip }), 400, "invalid_request");
    expect(await eventsOf(`actor_id=${ip}`)).toEqual([]);
  });
});
