import { describe, expect, it } from "vitest";
import { body, call } from "./identity-support";
import { expectError } from "./support";

/**
 * Single sign-on's settings, read by the one config reader: an issuer needs its client's id and
 * secret, is https (http only on this machine), and owner is never a default role. The flow itself
 * runs against a real provider in test/e2e/sso.e2e.test.ts.
 */

const SSO = { OIDC_ISSUER: "https://idp.example.com", OIDC_CLIENT_ID: "keygate", OIDC_CLIENT_SECRET: "a-client-secret-from-the-provider" };

describe("single sign-on settings", () => {
  it("without OIDC_ISSUER there is no single sign-on: the start is not found, the sign-in page offers none", async () => {
    await expectError(await call("GET", "/sso/start"), 404, "not_found");
    expect((await body(await call("GET", "/signin-methods"), 200)).sso).toBeNull();
  });

  it("with it, the sign-in page names the provider and where to start", async () => {
    const methods = await body(await call("GET", "/signin-methods", { settings: { ...SSO, OIDC_PROVIDER_NAME: "Acme SSO" } }), 200);
    expect(methods.sso).toEqual({ provider: "Acme SSO", start_url: "/_keygate/v1/sso/start" });
    expect((await body(await call("GET", "/signin-methods", { settings: SSO }), 200)).sso.provider).toBe("idp.example.com");
  });

  it("refuses settings that cannot work, naming the setting", async () => {
    const cases: [Record<string, string>, string][] = [
      [{ ...SSO, OIDC_CLIENT_SECRET: "" }, "OIDC_CLIENT_SECRET"],
      [{ ...SSO, OIDC_CLIENT_ID: "" }, "OIDC_CLIENT_ID"],
      [{ ...SSO, OIDC_ISSUER: "http://idp.example.com" }, "OIDC_ISSUER"],
      [{ ...SSO, OIDC_ISSUER: "not a url" }, "OIDC_ISSUER"],
      [{ ...SSO, OIDC_DEFAULT_ROLE: "owner" }, "OIDC_DEFAULT_ROLE"],
      [{ ...SSO, OIDC_DEFAULT_ROLE: "superuser" }, "OIDC_DEFAULT_ROLE"],
      [{ ...SSO, OIDC_ALLOWED_DOMAINS: "example.com, not a domain" }, "OIDC_ALLOWED_DOMAINS"],
      [{ ...SSO, OIDC_TRUST_PROVIDER_MFA: "yes" }, "OIDC_TRUST_PROVIDER_MFA"],
      [{ SESSION_IDLE_MINUTES: "0" }, "SESSION_IDLE_MINUTES"],
    ];
    for (const [settings, name] of cases) {
      const error = await expectError(await call("GET", "/signin-methods", { settings }), 500, "configuration_error");
      expect(error.error.message, name).toContain(name);
    }
    // The provider on this machine, under test, may be plain http.
    expect((await call("GET", "/signin-methods", { settings: { ...SSO, OIDC_ISSUER: "http://127.0.0.1:9999" } })).status).toBe(200);
  });
});
