import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { hashKey } from "../../src/keys/hash";
import { admin, createTenant, errorOf, gateway, uniqueIp } from "../support/client";
import { callWorker } from "../gateway/helpers";
import { expectError, failingFields } from "../admin/support";
import {
  authorize,
  authorizeAndExchange,
  basic,
  BASE,
  oauthError,
  oauthPost,
  pkce,
  REDIRECT_URI,
  registerClient,
  storedOAuth,
  type Client,
  type Tokens,
} from "./support";

// OAuth clients in the admin API (every change audited), how a change reaches the client's grants,
// dynamic registration, and the metadata documents on the API's host.

let tenantId: string;
beforeAll(async () => {
  tenantId = (await createTenant("App maker")).id;
});

const use = async (token: string, init: RequestInit = {}) => {
  const res = await gateway("/items", { ...init, headers: { authorization: `Bearer ${token}`, "cf-connecting-ip": uniqueIp() } });
  return res.status === 200 ? "ok" : (await errorOf(res)).error.code;
};

async function auditActions(resourceId: string): Promise<string[]> {
  const page = (await (await admin("GET", `/audit-events?resource_id=${resourceId}`)).json()) as { data: { action: string }[] };
  return page.data.map((event) => event.action).reverse();
}

describe("registering a client", () => {
  it("shows a confidential client's secret once, stores only its hash, and never shows it again", async () => {
    const client = await registerClient({ tenant_id: tenantId, type: "confidential", name: "Nightly sync" });
    expect(client).toMatchObject({ object: "oauth_client", client_id: client.id, tenant_id: tenantId, type: "confidential", name: "Nightly sync" });
    expect(client.client_secret).toMatch(/^kg_cs_[0-9A-Za-z]{38}$/);
    const row = await env.DB.prepare("SELECT secret_hash FROM oauth_clients WHERE id = ?").bind(client.id).first<{ secret_hash: string }>();
    expect(row!.secret_hash).toBe(await hashKey(client.client_secret!));
    const shown = JSON.stringify([await (await admin("GET", `/oauth-clients/${client.id}`)).json(), await (await admin("GET", `/oauth-clients?tenant_id=${tenantId}`)).json()]);
    expect(shown).not.toContain(client.client_secret!);
    expect(shown).not.toContain(row!.secret_hash);
    const publicOne = await registerClient({ tenant_id: tenantId });
    expect(publicOne).not.toHaveProperty("client_secret");
    expect(await auditActions(client.id)).toEqual(["oauth_client.created"]);
    // Every grant type each may use, unless it names fewer.
    expect(client.grant_types).toEqual(["authorization_code", "refresh_token", "client_credentials"]);
    expect(publicOne.grant_types).toEqual(["authorization_code", "refresh_token"]);
  });

  it("refuses redirect URIs an attacker could use, open-ended scopes, an unknown tenant; nothing is stored", async () => {
    const before = await storedOAuth();
    const valid = { tenant_id: tenantId, name: "x", type: "public", redirect_uris: [REDIRECT_URI], scopes: ["read"] };
    const cases: [Record<string, unknown>, string][] = [
      [{ redirect_uris: ["http://app.example.com/callback"] }, "redirect_uris.0"],
      [{ redirect_uris: ["https://app.example.com/cb#frag"] }, "redirect_uris.0"],
      [{ redirect_uris: ["/callback"] }, "redirect_uris.0"],
      [{ redirect_uris: ["javascript:alert(1)"] }, "redirect_uris.0"],
      [{ redirect_uris: [] }, "redirect_uris"],
      [{ scopes: ["*"] }, "scopes.0"],
      [{ scopes: ["read", "keys:manage"] }, "scopes.1"],
      [{ scopes: [] }, "scopes"],
      [{ type: "hybrid" }, "type"],
      [{ secret: "mine" }, "body"],
      [{ grant_types: ["client_credentials"] }, "grant_types"],
      [{ grant_types: ["refresh_token"] }, "grant_types"],
      [{ grant_types: [] }, "grant_types"],
      [{ grant_types: ["password"] }, "grant_types.0"],
    ];
    for (const [change, field] of cases) expect(await failingFields(await admin("POST", "/oauth-clients", { ...valid, ...change })), JSON.stringify(change)).toEqual([field]);
    await expectError(await admin("POST", "/oauth-clients", { ...valid, tenant_id: "ten_doesnotexist" }), 404, "not_found");
    expect(await storedOAuth()).toEqual(before);
    // What is allowed: loopback over http, and an app's own scheme.
    const native = await registerClient({ tenant_id: tenantId, redirect_uris: ["http://127.0.0.1:8123/cb", "http://[::1]/cb", "com.example.app:/oauth"] });
    expect(native.redirect_uris).toHaveLength(3);
  });
});

describe("a change to a client reaches its grants", () => {
  it("narrowed scopes and a new rate limit are in force on the next request of every grant; the client's own grant follows its scopes exactly", async () => {
    const client = await registerClient({ tenant_id: tenantId, type: "confidential", scopes: ["read", "write"] });
    const user = await authorizeAndExchange(client, { tenant_id: tenantId, subject: "user_narrow" });
    const own = (await (await oauthPost("token", { grant_type: "client_credentials" }, basic(client.client_id, client.client_secret!))).json()) as Tokens;
    expect(await use(user.access_token, { method: "POST" })).toBe("ok");
    const res = await admin("PATCH", `/oauth-clients/${client.id}`, { scopes: ["read", "reports"], rate_limit: { limit: 2, window_seconds: 60 } });
    expect(await res.json()).toMatchObject({ scopes: ["read", "reports"], fanout: { pending: false } });
    expect(await use(user.access_token, { method: "POST" })).toBe("insufficient_permissions");
    const grants = (await (await admin("GET", `/oauth-grants?client_id=${client.id}`)).json()) as { data: { subject: string | null; scopes: string[]; rate_limit: unknown }[] };
    expect(grants.data.map(({ subject, scopes, rate_limit }) => ({ subject, scopes, rate_limit })).sort((a, b) => String(a.subject).localeCompare(String(b.subject)))).toEqual([
      { subject: null, scopes: ["read", "reports"], rate_limit: { limit: 2, window_seconds: 60 } },
      { subject: "user_narrow", scopes: ["read"], rate_limit: { limit: 2, window_seconds: 60 } },
    ]);
    expect([await use(own.access_token), await use(own.access_token), await use(own.access_token)]).toEqual(["ok", "ok", "rate_limit_exceeded"]);
    expect(await auditActions(client.id)).toEqual(["oauth_client.created", "oauth_client.updated"]);
  });

  it("a new secret ends the old one at once; a public client has none to rotate", async () => {
    const client = await registerClient({ tenant_id: tenantId, type: "confidential" });
    const res = await admin("POST", `/oauth-clients/${client.id}/secret`);
    const { client_secret } = (await res.json()) as { client_secret: string };
    expect(res.status).toBe(200);
    expect(await oauthError(await oauthPost("token", { grant_type: "client_credentials" }, basic(client.client_id, client.client_secret!)))).toMatchObject({ error: "invalid_client" });
    expect((await oauthPost("token", { grant_type: "client_credentials" }, basic(client.client_id, client_secret))).status).toBe(200);
    const publicOne = await registerClient({ tenant_id: tenantId });
    await expectError(await admin("POST", `/oauth-clients/${publicOne.id}/secret`), 409, "conflict");
  });

  it("deleting a client revokes every grant before it returns, and the app can neither authorize nor get tokens again", async () => {
    const client = await registerClient({ tenant_id: tenantId });
    const tokens = await authorizeAndExchange(client, { tenant_id: tenantId, subject: "user_deleted_app" });
    expect(await use(tokens.access_token)).toBe("ok");
    expect((await admin("DELETE", `/oauth-clients/${client.id}`)).status).toBe(204);
    expect(await use(tokens.access_token)).toBe("revoked_token");
    await expectError(await admin("GET", `/oauth-clients/${client.id}`), 404, "not_found");
    const { challenge } = await pkce();
    const again = await authorize({ response_type: "code", client_id: client.client_id, redirect_uri: REDIRECT_URI, code_challenge: challenge, code_challenge_method: "S256" });
    expect(await oauthError(again)).toMatchObject({ status: 400, error: "invalid_request" });
    const refresh = await oauthPost("token", { grant_type: "refresh_token", client_id: client.client_id, refresh_token: tokens.refresh_token! });
    expect(await oauthError(refresh)).toMatchObject({ status: 401, error: "invalid_client" });
    expect((await admin("DELETE", `/oauth-clients/${client.id}`)).status).toBe(204);
    expect(await auditActions(client.id)).toEqual(["oauth_client.created", "oauth_client.deleted"]);
    const grant = (await (await admin("GET", `/oauth-grants/${tokens.grantId}`)).json()) as { status: string; revoked_reason: string };
    expect(grant).toMatchObject({ status: "revoked", revoked_reason: "client_deleted" });
  });
});

describe("dynamic client registration (RFC 7591)", () => {
  const register = (body: unknown, on = true) =>
    callWorker("/_keygate/oauth/register", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }, on ? { OAUTH_DYNAMIC_REGISTRATION: "true" } : {});

  it("is off unless the operator turns it on: no endpoint, and none in the metadata", async () => {
    await expectError(await register({ redirect_uris: [REDIRECT_URI] }, false), 404, "not_found");
    const metadata = (await (await gateway("/.well-known/oauth-authorization-server")).json()) as Record<string, unknown>;
    expect(metadata).not.toHaveProperty("registration_endpoint");
  });

  it("registers a public app that belongs to no tenant, and a user of any tenant can authorize it", async () => {
    const res = await register({ redirect_uris: [REDIRECT_URI], client_name: "MCP client", token_endpoint_auth_method: "none", scope: "read" });
    const registered = (await res.json()) as Record<string, unknown>;
    expect(res.status).toBe(201);
    expect(registered).toMatchObject({
      client_name: "MCP client",
      token_endpoint_auth_method: "none",
      scope: "read",
      redirect_uris: [REDIRECT_URI],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
    });
    expect(registered).not.toHaveProperty("client_secret");
    const client = (await (await admin("GET", `/oauth-clients/${registered.client_id as string}`)).json()) as Client;
    expect(client).toMatchObject({ tenant_id: null, type: "public", scopes: ["read"] });
    const users = await createTenant("Some users");
    const tokens = await authorizeAndExchange(client, { tenant_id: users.id, subject: "user_mcp" });
    expect(await use(tokens.access_token)).toBe("ok");
  });

  it("makes a confidential app by default, which has no client_credentials (no tenant of its own)", async () => {
    const registered = (await (await register({ redirect_uris: [REDIRECT_URI] })).json()) as { client_id: string; client_secret: string; scope: string };
    expect(registered.client_secret).toMatch(/^kg_cs_/);
    expect(registered.scope).toBe("servers admin read write");
    expect(registered).toMatchObject({ token_endpoint_auth_method: "client_secret_basic", grant_types: ["authorization_code", "refresh_token"] });
    const before = await storedOAuth();
    const cc = await oauthPost("token", { grant_type: "client_credentials" }, basic(registered.client_id, registered.client_secret));
    expect(await oauthError(cc)).toMatchObject({ status: 400, error: "unauthorized_client" });
    expect(await storedOAuth()).toEqual(before);
  });

  it("honours the grant types the app registers: without refresh_token, no refresh token, and refresh_token is refused", async () => {
    const registered = (await (await register({ redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: "none", grant_types: ["authorization_code"] })).json()) as {
      client_id: string;
      grant_types: string[];
    };
    expect(registered.grant_types).toEqual(["authorization_code"]);
    const client = (await (await admin("GET", `/oauth-clients/${registered.client_id}`)).json()) as Client;
    expect(client.grant_types).toEqual(["authorization_code"]);
    const tokens = await authorizeAndExchange(client, { tenant_id: (await createTenant("Some users")).id, subject: "user_no_refresh" });
    expect(tokens).not.toHaveProperty("refresh_token");
    expect(await use(tokens.access_token)).toBe("ok");
    const before = await storedOAuth();
    const refresh = await oauthPost("token", { grant_type: "refresh_token", client_id: client.client_id, refresh_token: "kg_rt_notatoken" });
    expect(await oauthError(refresh)).toMatchObject({ status: 400, error: "unauthorized_client", error_description: "The client is not registered for refresh_token." });
    expect(await storedOAuth()).toEqual(before);
  });

  it("refuses bad redirect URIs and scopes beyond the metadata's in RFC 7591's words; nothing is stored", async () => {
    const before = await storedOAuth();
    expect(await oauthError(await register({ redirect_uris: ["http://evil.example.com/cb"] }))).toMatchObject({ status: 400, error: "invalid_redirect_uri" });
    expect(await oauthError(await register({ redirect_uris: [] }))).toMatchObject({ status: 400, error: "invalid_redirect_uri" });
    expect(await oauthError(await register({ redirect_uris: [REDIRECT_URI], scope: "read keys:manage" }))).toMatchObject({ error: "invalid_client_metadata" });
    expect(await oauthError(await register({ redirect_uris: [REDIRECT_URI], grant_types: ["client_credentials"] }))).toMatchObject({ error: "invalid_client_metadata" });
    expect(await oauthError(await register({ redirect_uris: [REDIRECT_URI], grant_types: ["refresh_token"] }))).toMatchObject({ error: "invalid_client_metadata" });
    expect(await oauthError(await register({ redirect_uris: [REDIRECT_URI], grant_types: [] }))).toMatchObject({ error: "invalid_client_metadata" });
    expect(await oauthError(await register({ redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: "private_key_jwt" }))).toMatchObject({ error: "invalid_client_metadata" });
    expect(await oauthError(await register({ redirect_uris: [REDIRECT_URI], client_name: "x".repeat(201) }))).toMatchObject({ error: "invalid_client_metadata" });
    expect(await storedOAuth()).toEqual(before);
  });
});

describe("the metadata documents on the API's host", () => {
  it("say where everything is, with the API's own origin as issuer and resource", async () => {
    const server = (await (await gateway("/.well-known/oauth-authorization-server")).json()) as Record<string, unknown>;
    expect(server).toMatchObject({
      issuer: BASE,
      authorization_endpoint: `${BASE}/_keygate/oauth/authorize`,
      token_endpoint: `${BASE}/_keygate/oauth/token`,
      revocation_endpoint: `${BASE}/_keygate/oauth/revoke`,
      code_challenge_methods_supported: ["S256"],
      grant_types_supported: ["authorization_code", "refresh_token", "client_credentials"],
      scopes_supported: ["servers", "admin", "read", "write"],
      authorization_response_iss_parameter_supported: true,
    });
    const resource = (await (await gateway("/.well-known/oauth-protected-resource?x=1")).json()) as Record<string, unknown>;
    expect(resource).toMatchObject({ resource: BASE, authorization_servers: [BASE], bearer_methods_supported: ["header"] });
  });

  it("are exactly these two paths: every other spelling and well-known path is the origin's", async () => {
    for (const path of ["/.well-known/oauth-authorization-server/extra", "/.well-known/openid-configuration", "/.well-known/OAUTH-authorization-server"]) {
      // The gateway's answer: a key is needed to reach the origin there.
      await expectError(await gateway(path), 401, "missing_credentials");
    }
  });
});

describe("completing an authorization for the approved scopes only", () => {
  it("the approved scopes, no more, are what the token carries", async () => {
    const client = await registerClient({ tenant_id: tenantId, scopes: ["read", "write", "reports"] });
    const tokens = await authorizeAndExchange(client, { tenant_id: tenantId, subject: "user_partial", scopes: ["reports"] }, "read reports");
    expect(tokens.scope).toBe("reports");
    expect(await use(tokens.access_token)).toBe("insufficient_permissions");
  });
});
