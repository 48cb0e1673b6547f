import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { readConfig } from "../../src/config";
import { ADMIN_TOKEN, admin, createKey, uniqueIp } from "../support/client";
import { adminUser, adminWith, BASE, expectError, json, signin, storedState } from "./support";

/**
 * The ADMIN_TOKEN is a root credential: it must be long enough not to be guessed, and guessing
 * at it (or at JWTs) is limited per client like failed API keys on the gateway.
 */

const FAILED_AUTH_LIMIT = readConfig(env).failedAuth.limit;

/** One request to the worker under other bindings. */
async function withBindings(bindings: Partial<Env>, path: string, init: { method?: string; headers?: Record<string, string>; body?: string }): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`${BASE}${path}`, init), { ...env, ...bindings } as Env, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

describe("an ADMIN_TOKEN shorter than 32 characters", () => {
  const SHORT = "short-admin-token-31-characters"; // 31

  it("is never accepted: 500 configuration_error that names the problem, not the token; nothing stored", async () => {
    expect(SHORT).toHaveLength(31);
    const before = await storedState();
    for (const token of [SHORT, "some-other-guess"]) {
      const res = await withBindings({ ADMIN_TOKEN: SHORT }, "/_keygate/v1/tenants", {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json", "cf-connecting-ip": uniqueIp() },
        body: JSON.stringify({ name: "made with a weak root token" }),
      });
      const error = await expectError(res, 500, "configuration_error");
      expect(error.error.message).toContain("ADMIN_TOKEN");
      expect(error.error.message).toContain("32");
      expect(error.error.message).not.toContain(SHORT);
      expect(error.error.message).not.toContain("31");
    }
    expect(await storedState()).toEqual(before);
  });

  it("leaves the gateway and signed-in admins working", async () => {
    const key = await createKey();
    const owner = await adminUser("owner");
    const viaGateway = await withBindings({ ADMIN_TOKEN: SHORT }, "/items", { headers: { "x-api-key": key.key, "cf-connecting-ip": uniqueIp() } });
    expect(viaGateway.status).toBe(200);
    await viaGateway.body?.cancel();
    const viaJwt = await withBindings({ ADMIN_TOKEN: SHORT }, "/_keygate/v1/tenants", { headers: { authorization: `Bearer ${owner.token}` } });
    expect(viaJwt.status).toBe(200);
    await viaJwt.body?.cancel();
  });

  it("is accepted from 32 characters on (the control)", async () => {
    const exact = "x".repeat(32);
    const res = await withBindings({ ADMIN_TOKEN: exact }, "/_keygate/v1/tenants", { headers: { authorization: `Bearer ${exact}` } });
    expect(res.status).toBe(200);
    await res.body?.cancel();
  });
});

describe("guessing at admin credentials", () => {
  it(`is limited per client: after ${FAILED_AUTH_LIMIT} wrong tokens or bad JWTs, 429 even for the right ADMIN_TOKEN`, async () => {
    const ip = uniqueIp();
    const owner = await adminUser("owner");
    const [header, payload] = owner.token.split(".");
    const guesses = [`${ADMIN_TOKEN.slice(0, -1)}?`, "not-the-root-token", `${header}.${payload}.forged-signature`];
    for (let i = 0; i < FAILED_AUTH_LIMIT; i++) {
      await expectError(await adminWith(guesses[i % guesses.length]!, "GET", "/tenants", undefined, ip), 401, "invalid_token");
    }
    const blocked = await adminWith(`wrong-${ADMIN_TOKEN}`, "GET", "/tenants", undefined, ip);
    await expectError(blocked, 429, "too_many_failed_attempts");
    expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThan(0);
    // Blocked before the token is compared: a right guess now would not be confirmed.
    await expectError(await adminWith(ADMIN_TOKEN, "GET", "/tenants", undefined, ip), 429, "too_many_failed_attempts");
    await expectError(await adminWith(owner.token, "GET", "/tenants", undefined, ip), 429, "too_many_failed_attempts");
    // Other clients are not affected.
    await json(await adminWith(ADMIN_TOKEN, "GET", "/tenants", undefined, uniqueIp()), 200);
  });

  it("counts refresh attempts with bad tokens in the same budget", async () => {
    const ip = uniqueIp();
    for (let i = 0; i < FAILED_AUTH_LIMIT; i++) {
      await expectError(await adminWith("not.a.jwt", "GET", "/tenants", undefined, ip), 401, "invalid_token");
    }
    await expectError(await signin({ grant_type: "refresh" }, { ip, authorization: "Bearer also.not.valid" }), 429, "too_many_failed_attempts");
  });

  it("does not count valid calls", async () => {
    const ip = uniqueIp();
    for (let i = 0; i < FAILED_AUTH_LIMIT + 5; i++) {
      const res = await adminWith(ADMIN_TOKEN, "GET", "/tenants?limit=1", undefined, ip);
      expect(res.status).toBe(200);
      await res.body?.cancel();
    }
    await expectError(await adminWith("not-the-root-token", "GET", "/tenants", undefined, ip), 401, "invalid_token");
  });
});
