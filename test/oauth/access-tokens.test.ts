import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { generateToken } from "../../src/keys/token-format";
import { canonicalString } from "../../src/proxy/signing";
import { TEST_SIGNING_SECRET } from "../support/constants";
import { admin, createKey, createTenant, errorOf, gateway, uniqueIp, type Echo } from "../support/client";
import { honoApi, keygateBinding, verifyOverHttp } from "../support/verify";
import { asKey, expectError } from "../admin/support";
import { basic as basicAuth, NO_STORAGE, callWorker } from "../gateway/helpers";
import { authorizeAndExchange, basic, oauthPost, registerClient, type Client, type Tokens } from "./support";

// An access token is accepted wherever a key is, and its grant is decided by the grant's own object:
// scopes, the tenant's status, exact limits, and revocation on the very next request.

let app: Client;
let userTenant: string;

beforeAll(async () => {
  app = await registerClient({ scopes: ["read", "write", "servers"] });
  userTenant = (await createTenant("Users")).id;
});

const bearer = (token: string, ip = uniqueIp()) => ({ headers: { authorization: `Bearer ${token}`, "cf-connecting-ip": ip } });

async function codeOf(res: Response): Promise<string> {
  if (res.status === 200) {
    await res.body?.cancel();
    return "ok";
  }
  return (await errorOf(res)).error.code;
}

describe("where a key goes, an access token goes", () => {
  let tokens: Tokens & { grantId: string };
  beforeAll(async () => {
    tokens = await authorizeAndExchange(app, { tenant_id: userTenant, subject: "user_edge", scopes: ["read", "servers"] });
  });

  it("in x-api-key, as a Bearer token and as the Basic user name", async () => {
    const fresh = await authorizeAndExchange(app, { tenant_id: userTenant, subject: "user_styles", scopes: ["read"] });
    expect(await codeOf(await gateway("/items", { headers: { "x-api-key": fresh.access_token } }))).toBe("ok");
    expect(await codeOf(await gateway("/items", bearer(fresh.access_token)))).toBe("ok");
    expect(await codeOf(await gateway("/items", { headers: { authorization: basicAuth(fresh.access_token) } }))).toBe("ok");
  });

  it("reaches the origin signed, the subject and client id covered by the signature", async () => {
    const res = await gateway("/reports?x=1", bearer(tokens.access_token));
    const { headers } = (await res.json()) as Echo;
    expect(headers.authorization).toBeUndefined();
    const signed = canonicalString({
      timestamp: headers["x-keygate-timestamp"]!,
      method: "GET",
      pathAndQuery: "/reports?x=1",
      keyId: tokens.grantId,
      tenantId: userTenant,
      environment: "live",
      scopes: "read,servers",
      requestId: headers["x-request-id"]!,
      delegation: { subject: "user_edge", clientId: app.client_id },
    });
    expect(signed.split("\n").slice(-2)).toEqual(["user_edge", app.client_id]);
    const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(TEST_SIGNING_SECRET), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(signed)));
    expect(headers["x-keygate-signature"]).toBe(`v1=${[...mac].map((b) => b.toString(16).padStart(2, "0")).join("")}`);
  });

  it("is refused with RFC 6750's insufficient_scope, in keygate's envelope, for a scope the grant lacks", async () => {
    const res = await gateway("/items", { method: "POST", ...bearer(tokens.access_token) });
    const error = await errorOf(res);
    expect({ status: res.status, code: error.error.code, message: error.error.message }).toEqual({
      status: 403,
      code: "insufficient_permissions",
      message: 'This access token lacks the scope "write" needed for this request.',
    });
    expect(res.headers.get("www-authenticate")).toBe(
      'Bearer realm="keygate", error="insufficient_scope", scope="write", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource"',
    );
  });

  it("a 401 names the protected-resource metadata (RFC 9728), so an app finds the authorization server from it; not without OAUTH_CONSENT_URL", async () => {
    const none = await callWorker("/items");
    expect(none.status).toBe(401);
    await none.body?.cancel();
    const challenge = none.headers.get("www-authenticate")!;
    expect(challenge).toMatch(/^Bearer realm="keygate", resource_metadata="https:\/\/api\.example\.com\/\.well-known\/oauth-protected-resource", Basic realm="keygate"/);
    const metadata = await callWorker("/.well-known/oauth-protected-resource");
    expect(((await metadata.json()) as { authorization_servers: string[] }).authorization_servers).toEqual(["https://api.example.com"]);

    const withoutOAuth = await callWorker("/items", bearer("kg_at_unknown"), { OAUTH_CONSENT_URL: "" });
    expect(withoutOAuth.status).toBe(401);
    await withoutOAuth.body?.cancel();
    expect(withoutOAuth.headers.get("www-authenticate")).not.toContain("resource_metadata");
  });

  it("an unknown or forged token is invalid_token with error=\"invalid_token\", and costs no I/O when its checksum is wrong", async () => {
    const forged = `${tokens.access_token.slice(0, -1)}${tokens.access_token.endsWith("A") ? "B" : "A"}`;
    const res = await callWorker("/items", bearer(forged), NO_STORAGE);
    expect(res.status).toBe(401);
    expect((await errorOf(res)).error.code).toBe("invalid_key");
    const unknown = await gateway("/items", bearer(generateToken("kg", "access")));
    expect((await errorOf(unknown)).error).toMatchObject({ code: "invalid_token", message: "The access token is not valid." });
    const refresh = await gateway("/items", bearer(tokens.refresh_token!));
    expect((await errorOf(refresh)).error.code).toBe("invalid_key");
    expect(refresh.headers.get("www-authenticate")).toContain('error="invalid_token"');
  });

  it("verify over HTTP and RPC, and keygate/hono, answer for a token with its client and subject", async () => {
    const expected = { valid: true, code: "valid", key_id: tokens.grantId, tenant_id: userTenant, client_id: app.client_id, subject: "user_edge", scopes: ["read", "servers"] };
    expect((await verifyOverHttp({ key: tokens.access_token, method: "GET", path: "/servers/1" })).body).toMatchObject(expected);
    expect(await keygateBinding.verify({ key: tokens.access_token, method: "GET", path: "/items" })).toMatchObject(expected);
    const whoami = await honoApi("/api/whoami", tokens.access_token);
    expect(await whoami.json()).toEqual({ keyId: tokens.grantId, tenantId: userTenant, environment: "live", scopes: ["read", "servers"], clientId: app.client_id, subject: "user_edge" });
    const refused = await honoApi("/api/servers/1", tokens.access_token, { method: "DELETE" });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toContain("access token");
  });

  it("never acts on the admin API: a tenant's keys are the tenant's business", async () => {
    const res = await asKey(tokens.access_token, "GET", "/keys");
    expect(res.status).toBe(401);
    await expectError(await admin("GET", "/keys", undefined, tokens.access_token), 401, "invalid_token");
  });
});

describe("each grant is counted and ended like a key", () => {
  it("has an exact window of its own (its client's rate limit), shared by its access tokens, apart from other grants", async () => {
    const limited = await registerClient({ tenant_id: app.tenant_id, rate_limit: { limit: 3, window_seconds: 60 } });
    const first = await authorizeAndExchange(limited, { tenant_id: userTenant, subject: "user_window", scopes: ["read"] });
    const refreshed = (await (await oauthPost("token", { grant_type: "refresh_token", client_id: limited.client_id, refresh_token: first.refresh_token! })).json()) as Tokens;
    const other = await authorizeAndExchange(limited, { tenant_id: userTenant, subject: "user_other_window", scopes: ["read"] });
    const answers = [];
    for (const token of [first.access_token, refreshed.access_token, first.access_token, refreshed.access_token]) answers.push(await codeOf(await gateway("/items", bearer(token))));
    expect(answers).toEqual(["ok", "ok", "ok", "rate_limit_exceeded"]);
    expect(await codeOf(await gateway("/items", bearer(other.access_token)))).toBe("ok");
  });

  it("an admin's revocation refuses the very next request with any of its tokens, before the call returns", async () => {
    const tokens = await authorizeAndExchange(app, { tenant_id: userTenant, subject: "user_revoke", scopes: ["read"] });
    expect(await codeOf(await gateway("/items", bearer(tokens.access_token)))).toBe("ok");
    const res = await admin("POST", `/oauth-grants/${tokens.grantId}/revoke`);
    expect(await res.json()).toMatchObject({ status: "revoked", revoked_reason: "revoked" });
    const refused = await gateway("/items", bearer(tokens.access_token));
    expect((await errorOf(refused)).error).toMatchObject({ code: "revoked_token", message: "The access token's grant has been revoked." });
    expect(refused.headers.get("www-authenticate")).toContain('error="invalid_token"');
  });

  it("the app's own revocation (RFC 7009) of either token ends the grant; an unknown token is 200; another app's is refused", async () => {
    const tokens = await authorizeAndExchange(app, { tenant_id: userTenant, subject: "user_rfc7009", scopes: ["read"] });
    const other = await registerClient({ tenant_id: app.tenant_id });
    const theirs = await oauthPost("revoke", { token: tokens.refresh_token!, client_id: other.client_id });
    expect(theirs.status).toBe(400);
    expect(await codeOf(await gateway("/items", bearer(tokens.access_token)))).toBe("ok");
    expect((await oauthPost("revoke", { token: generateToken("kg", "access"), client_id: app.client_id })).status).toBe(200);
    expect((await oauthPost("revoke", { token: tokens.refresh_token!, token_type_hint: "refresh_token", client_id: app.client_id })).status).toBe(200);
    expect(await codeOf(await gateway("/items", bearer(tokens.access_token)))).toBe("revoked_token");
    const audit = (await (await admin("GET", `/audit-events?resource_id=${tokens.grantId}`)).json()) as { data: { action: string; actor: { type: string; id: string }; details: unknown }[] };
    expect(audit.data[0]).toMatchObject({ action: "oauth_grant.revoked", actor: { type: "oauth_client", id: app.client_id }, details: { reason: "token_revoked" } });
  });

  it("revoking a user's grants ends every app's grant of that user, and no one else's", async () => {
    const second = await registerClient({ tenant_id: app.tenant_id });
    const a = await authorizeAndExchange(app, { tenant_id: userTenant, subject: "user_leaving", scopes: ["read"] });
    const b = await authorizeAndExchange(second, { tenant_id: userTenant, subject: "user_leaving", scopes: ["read"] });
    const bystander = await authorizeAndExchange(app, { tenant_id: userTenant, subject: "user_staying", scopes: ["read"] });
    const res = await admin("POST", "/oauth-grants/revoke", { tenant_id: userTenant, subject: "user_leaving" });
    expect(await res.json()).toEqual({ object: "oauth_grant_revocation", revoked: 2, pending: false });
    expect(await codeOf(await gateway("/items", bearer(a.access_token)))).toBe("revoked_token");
    expect(await codeOf(await gateway("/items", bearer(b.access_token)))).toBe("revoked_token");
    expect(await codeOf(await gateway("/items", bearer(bystander.access_token)))).toBe("ok");
  });

  it("a suspended tenant's tokens are refused on their next request, refreshing them too, and work again once it is reactivated", async () => {
    const tenant = await createTenant("Suspended later");
    const tokens = await authorizeAndExchange(app, { tenant_id: tenant.id, subject: "user_suspended", scopes: ["read"] });
    expect(await codeOf(await gateway("/items", bearer(tokens.access_token)))).toBe("ok");
    expect((await admin("PATCH", `/tenants/${tenant.id}`, { status: "suspended" })).status).toBe(200);
    expect(await codeOf(await gateway("/items", bearer(tokens.access_token)))).toBe("tenant_inactive");
    const before = await env.DB.prepare("SELECT * FROM oauth_tokens ORDER BY token_hash").all();
    const refresh = await oauthPost("token", { grant_type: "refresh_token", client_id: app.client_id, refresh_token: tokens.refresh_token! });
    expect(await refresh.json()).toMatchObject({ error: "invalid_grant", error_description: "The tenant this grant acts for is suspended." });
    expect((await env.DB.prepare("SELECT * FROM oauth_tokens ORDER BY token_hash").all()).results).toEqual(before.results);
    expect((await admin("PATCH", `/tenants/${tenant.id}`, { status: "active" })).status).toBe(200);
    expect(await codeOf(await gateway("/items", bearer(tokens.access_token)))).toBe("ok");
  });

  it("a client_credentials token of a suspended tenant is refused, and none is issued", async () => {
    const server = await registerClient({ type: "confidential" });
    const token = (await (await oauthPost("token", { grant_type: "client_credentials" }, basic(server.client_id, server.client_secret!))).json()) as Tokens;
    expect((await admin("PATCH", `/tenants/${server.tenant_id}`, { status: "suspended" })).status).toBe(200);
    expect(await codeOf(await gateway("/items", bearer(token.access_token)))).toBe("tenant_inactive");
    const again = await oauthPost("token", { grant_type: "client_credentials" }, basic(server.client_id, server.client_secret!));
    expect(await again.json()).toMatchObject({ error: "unauthorized_client" });
  });

  it("keys keep working beside tokens", async () => {
    const key = await createKey();
    expect(await codeOf(await gateway("/items", { headers: { "x-api-key": key.key } }))).toBe("ok");
  });
});
