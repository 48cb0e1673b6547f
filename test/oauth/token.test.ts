import { env, exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "../../src/clock";
import { admin, createTenant, gateway, uniqueIp } from "../support/client";
import { moveClockTo } from "../support/clock";
import {
  authorize,
  authorizeAndExchange,
  BASE,
  basic,
  complete,
  consentRequest,
  oauthError,
  oauthPost,
  pkce,
  REDIRECT_URI,
  registerClient,
  storedOAuth,
  type Client,
} from "./support";

// The token endpoint: each grant, each refusal in RFC 6749's words, and a refusal changes nothing
// stored, except a code or refresh token used a second time, which ends its grant.

let app: Client;
let userTenant: string;

beforeAll(async () => {
  app = await registerClient();
  userTenant = (await createTenant("Users")).id;
});

/** A fresh approved code for `client`, with its PKCE verifier. */
async function approvedCode(client: Client = app, subject = "user_1", tenantId = userTenant): Promise<{ code: string; verifier: string }> {
  const { verifier, challenge } = await pkce();
  const request = consentRequest(
    await authorize({ response_type: "code", client_id: client.client_id, redirect_uri: REDIRECT_URI, code_challenge: challenge, code_challenge_method: "S256" }),
  );
  const res = await complete({ decision: "approve", request, tenant_id: tenantId, subject });
  const code = new URL(((await res.json()) as { redirect_to: string }).redirect_to).searchParams.get("code")!;
  return { code, verifier };
}

const exchange = (code: string, verifier: string | null, fields: Record<string, string> = {}) =>
  oauthPost("token", {
    grant_type: "authorization_code",
    client_id: app.client_id,
    code,
    redirect_uri: REDIRECT_URI,
    ...(verifier === null ? {} : { code_verifier: verifier }),
    ...fields,
  });

/** `secret` with its last character changed. */
const altered = (secret: string) => secret.slice(0, -1) + (secret.endsWith("x") ? "y" : "x");

/** What the gateway answers an access token: "ok", or the error code. */
async function use(token: string): Promise<string> {
  const res = await gateway("/items", { headers: { authorization: `Bearer ${token}`, "cf-connecting-ip": uniqueIp() } });
  if (res.status === 200) {
    await res.body?.cancel();
    return "ok";
  }
  return ((await res.json()) as { error: { code: string } }).error.code;
}

describe("authorization_code", () => {
  it("refuses a wrong or missing PKCE verifier, another redirect URI, another client; the code still works after", async () => {
    const { code, verifier } = await approvedCode();
    const other = await registerClient({ tenant_id: app.tenant_id });
    const before = await storedOAuth();
    const { verifier: wrong } = await pkce();
    expect(await oauthError(await exchange(code, wrong))).toMatchObject({ status: 400, error: "invalid_grant" });
    expect(await oauthError(await exchange(code, null))).toMatchObject({ status: 400, error: "invalid_request" });
    expect(await oauthError(await exchange(code, verifier, { redirect_uri: `${REDIRECT_URI}x` }))).toMatchObject({ status: 400, error: "invalid_grant" });
    const forOther = await oauthError(await exchange(code, verifier, { client_id: other.client_id }));
    expect(forOther).toMatchObject({ status: 400, error: "invalid_grant", error_description: "The code was issued to another client." });
    expect(await oauthError(await exchange(altered(code), verifier))).toMatchObject({ status: 400, error: "invalid_grant" });
    expect(await storedOAuth()).toEqual(before);
    expect((await exchange(code, verifier)).status).toBe(200);
  });

  it("a code used twice is refused and revokes the grant its first use issued", async () => {
    const { code, verifier } = await approvedCode(app, "user_twice");
    const first = (await (await exchange(code, verifier)).json()) as { access_token: string; refresh_token: string };
    expect(await use(first.access_token)).toBe("ok");
    const again = await oauthError(await exchange(code, verifier));
    expect(again).toMatchObject({ status: 400, error: "invalid_grant", error_description: "The code was already used; the grant it issued is revoked." });
    expect(await use(first.access_token)).toBe("revoked_token");
    expect(await oauthError(await oauthPost("token", { grant_type: "refresh_token", client_id: app.client_id, refresh_token: first.refresh_token }))).toMatchObject({
      error: "invalid_grant",
    });
    const grants = (await (await admin("GET", `/oauth-grants?subject=user_twice&tenant_id=${userTenant}`)).json()) as { data: { status: string; revoked_reason: string }[] };
    expect(grants.data).toEqual([expect.objectContaining({ status: "revoked", revoked_reason: "code_reused" })]);
  });
});

describe("authorization_code, later", () => {
  it("a code used again long after, when codes of its age are cleared away, still ends the grant its first use issued", async () => {
    const { code, verifier } = await approvedCode(app, "user_late");
    const first = (await (await exchange(code, verifier)).json()) as { access_token: string };
    // Eleven minutes on, another approval clears away codes no request can complete any more.
    moveClockTo(systemClock.now() + 11 * 60_000);
    await approvedCode(app, "user_other");
    const again = await oauthError(await exchange(code, verifier));
    expect(again).toMatchObject({ status: 400, error: "invalid_grant", error_description: "The code was already used; the grant it issued is revoked." });
    expect(await use(first.access_token)).toBe("revoked_token");
  });

  it("gives only what the app may still be granted: an app narrowed, or its redirect URI removed, after the user approved", async () => {
    const narrowed = await registerClient({ tenant_id: app.tenant_id, redirect_uris: [REDIRECT_URI, `${REDIRECT_URI}/other`] });
    const exchangeFor = (code: string, verifier: string) =>
      oauthPost("token", { grant_type: "authorization_code", client_id: narrowed.client_id, code, redirect_uri: REDIRECT_URI, code_verifier: verifier });
    const both = await approvedCode(narrowed, "user_narrowed");
    const gone = await approvedCode(narrowed, "user_gone");
    const moved = await approvedCode(narrowed, "user_moved");
    expect((await admin("PATCH", `/oauth-clients/${narrowed.client_id}`, { scopes: ["read"] })).status).toBe(200);
    const tokens = (await (await exchangeFor(both.code, both.verifier)).json()) as { scope: string };
    expect(tokens.scope).toBe("read");

    expect((await admin("PATCH", `/oauth-clients/${narrowed.client_id}`, { scopes: ["admin"] })).status).toBe(200);
    const before = await storedOAuth();
    expect(await oauthError(await exchangeFor(gone.code, gone.verifier))).toMatchObject({ status: 400, error: "invalid_grant" });
    expect(await storedOAuth()).toEqual(before);
    expect((await admin("PATCH", `/oauth-clients/${narrowed.client_id}`, { scopes: ["read"], redirect_uris: [`${REDIRECT_URI}/other`] })).status).toBe(200);
    const afterPatches = await storedOAuth();
    expect(await oauthError(await exchangeFor(moved.code, moved.verifier))).toMatchObject({ status: 400, error: "invalid_grant" });
    expect(await storedOAuth()).toEqual(afterPatches);
  });
});

describe("refresh_token", () => {
  it("rotates: a new pair each time; a spent refresh token used again revokes the whole grant", async () => {
    const tokens = await authorizeAndExchange(app, { tenant_id: userTenant, subject: "user_rotate" });
    const refresh = (refresh_token: string) => oauthPost("token", { grant_type: "refresh_token", client_id: app.client_id, refresh_token });
    const second = (await (await refresh(tokens.refresh_token!)).json()) as { access_token: string; refresh_token: string };
    expect(second.refresh_token).not.toBe(tokens.refresh_token);
    expect(await use(second.access_token)).toBe("ok");
    expect(await use(tokens.access_token)).toBe("ok"); // the old access token lives out its hour
    const reused = await oauthError(await refresh(tokens.refresh_token!));
    expect(reused).toMatchObject({ status: 400, error: "invalid_grant", error_description: "The refresh token was already used; the grant is revoked." });
    // Every token of the grant, on its very next use.
    expect(await use(second.access_token)).toBe("revoked_token");
    expect(await use(tokens.access_token)).toBe("revoked_token");
    expect(await oauthError(await refresh(second.refresh_token))).toMatchObject({ error: "invalid_grant" });
  });

  it("refuses a scope beyond the grant (invalid_scope) and changes nothing; a narrower one gets the grant's scopes, said in `scope`", async () => {
    const tokens = await authorizeAndExchange(app, { tenant_id: userTenant, subject: "user_scope", scopes: ["read"] });
    const before = await storedOAuth();
    const escalate = await oauthPost("token", { grant_type: "refresh_token", client_id: app.client_id, refresh_token: tokens.refresh_token!, scope: "read write" });
    expect(await oauthError(escalate)).toMatchObject({ status: 400, error: "invalid_scope", error_description: "Not granted: write." });
    expect(await storedOAuth()).toEqual(before);
    const same = await oauthPost("token", { grant_type: "refresh_token", client_id: app.client_id, refresh_token: tokens.refresh_token!, scope: "read" });
    expect(await same.json()).toMatchObject({ scope: "read", token_type: "Bearer" });
  });

  it("refuses another client's refresh token without spending it", async () => {
    const tokens = await authorizeAndExchange(app, { tenant_id: userTenant, subject: "user_other" });
    const other = await registerClient({ tenant_id: app.tenant_id });
    const stolen = await oauthPost("token", { grant_type: "refresh_token", client_id: other.client_id, refresh_token: tokens.refresh_token! });
    expect(await oauthError(stolen)).toMatchObject({ error: "invalid_grant", error_description: "The refresh token was issued to another client." });
    expect((await oauthPost("token", { grant_type: "refresh_token", client_id: app.client_id, refresh_token: tokens.refresh_token! })).status).toBe(200);
  });
});

describe("client_credentials", () => {
  it("a confidential client acts for its own tenant, by its secret in Basic or in the body; no refresh token", async () => {
    const server = await registerClient({ type: "confidential", scopes: ["read", "reports"] });
    expect(server.client_secret).toMatch(/^kg_cs_/);
    const viaBasic = await oauthPost("token", { grant_type: "client_credentials", scope: "read" }, basic(server.client_id, server.client_secret!));
    const tokens = (await viaBasic.json()) as Record<string, unknown>;
    expect(viaBasic.status).toBe(200);
    expect(tokens).toMatchObject({ token_type: "Bearer", scope: "read reports" });
    expect(tokens).not.toHaveProperty("refresh_token");
    const res = await gateway("/items", { headers: { authorization: `Bearer ${tokens.access_token as string}` } });
    const echo = (await res.json()) as { headers: Record<string, string> };
    expect(echo.headers["x-keygate-tenant-id"]).toBe(server.tenant_id);
    expect(echo.headers["x-keygate-client-id"]).toBe(server.client_id);
    expect(echo.headers["x-keygate-subject"]).toBeUndefined();
    // The same grant every time: one window for the client.
    const viaBody = await oauthPost("token", { grant_type: "client_credentials", client_id: server.client_id, client_secret: server.client_secret! });
    const again = (await viaBody.json()) as { access_token: string };
    const grants = (await (await admin("GET", `/oauth-grants?client_id=${server.client_id}`)).json()) as { data: { subject: string | null }[] };
    expect(grants.data).toEqual([expect.objectContaining({ subject: null })]);
    expect(await use(again.access_token)).toBe("ok");
  });

  it("refuses a confidential client registered without it (unauthorized_client); nothing stored; its code flow has no refresh token", async () => {
    const server = await registerClient({ type: "confidential", grant_types: ["authorization_code"] });
    expect(server.grant_types).toEqual(["authorization_code"]);
    const before = await storedOAuth();
    const cc = await oauthPost("token", { grant_type: "client_credentials" }, basic(server.client_id, server.client_secret!));
    expect(await oauthError(cc)).toMatchObject({ status: 400, error: "unauthorized_client", error_description: "The client is not registered for client_credentials." });
    expect(await storedOAuth()).toEqual(before);
    const tokens = await authorizeAndExchange(server, { tenant_id: userTenant, subject: "user_cc_less" });
    expect(tokens).not.toHaveProperty("refresh_token");
    expect(await use(tokens.access_token)).toBe("ok");
  });

  it("refuses a wrong secret (401 invalid_client with a Basic challenge), a public client, a scope beyond the client's; nothing stored", async () => {
    const server = await registerClient({ type: "confidential" });
    const before = await storedOAuth();
    const wrong = await oauthPost("token", { grant_type: "client_credentials" }, basic(server.client_id, altered(server.client_secret!)));
    expect(await oauthError(wrong)).toMatchObject({ status: 401, error: "invalid_client" });
    expect(wrong.headers.get("www-authenticate")).toBe('Basic realm="keygate"');
    expect(await oauthError(await oauthPost("token", { grant_type: "client_credentials", client_id: server.client_id }))).toMatchObject({ status: 401, error: "invalid_client" });
    expect(await oauthError(await oauthPost("token", { grant_type: "client_credentials", client_id: app.client_id }))).toMatchObject({ status: 400, error: "unauthorized_client" });
    const beyond = await oauthPost("token", { grant_type: "client_credentials", scope: "admin" }, basic(server.client_id, server.client_secret!));
    expect(await oauthError(beyond)).toMatchObject({ status: 400, error: "invalid_scope" });
    expect(await storedOAuth()).toEqual(before);
  });
});

describe("the token endpoint's own checks", () => {
  it("refuses a JSON body, a parameter given twice, an unknown grant type, two authentication methods", async () => {
    const asJson = await oauthPost("token", {}, { "content-type": "application/json" });
    expect(await oauthError(asJson)).toMatchObject({ status: 400, error: "invalid_request" });
    const twice = await exports.default.fetch(`${BASE}/_keygate/oauth/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: `grant_type=refresh_token&grant_type=client_credentials&client_id=${app.client_id}`,
    });
    expect(await oauthError(twice)).toMatchObject({ status: 400, error: "invalid_request", error_description: "The parameter grant_type is given more than once." });
    expect(await oauthError(await oauthPost("token", { grant_type: "password", client_id: app.client_id }))).toMatchObject({ error: "unsupported_grant_type" });
    expect(await oauthError(await oauthPost("token", { grant_type: "implicit" }))).toMatchObject({ error: "unsupported_grant_type" });
    const server = await registerClient({ type: "confidential" });
    const both = await oauthPost("token", { grant_type: "client_credentials", client_secret: server.client_secret! }, basic(server.client_id, server.client_secret!));
    expect(await oauthError(both)).toMatchObject({ status: 400, error: "invalid_request" });
  });

  it("says keygate's own refusals on the way in RFC 6749's form too, whatever their code", async () => {
    // Tenants are never deleted; a row gone from under a code stands in for any of keygate's
    // refusals (here createGrant's not_found) that reaches the endpoint.
    const gone = (await createTenant("Gone")).id;
    const { code, verifier } = await approvedCode(app, "user_gone", gone);
    await env.DB.prepare("DELETE FROM tenants WHERE id = ?").bind(gone).run();
    const res = await exchange(code, verifier);
    const body = (await res.clone().json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(["error", "error_description"]);
    expect(await oauthError(res)).toMatchObject({ status: 400, error: "invalid_request", error_description: "No such tenant." });
  });

  it("counts wrong client secrets, codes and refresh tokens against the caller's address, then answers 429", async () => {
    const ip = uniqueIp();
    const guess = () => oauthPost("token", { grant_type: "refresh_token", client_id: app.client_id, refresh_token: "kg_rt_notatoken" }, { "cf-connecting-ip": ip });
    const answers: string[] = [];
    for (let i = 0; i < 30; i++) answers.push((await oauthError(await guess())).error);
    expect(new Set(answers)).toEqual(new Set(["invalid_grant"]));
    const blocked = await guess();
    expect(await oauthError(blocked)).toMatchObject({ status: 429, error: "too_many_failed_attempts" });
    expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThan(0);
    // Blocked: even a good request from that address is refused, before its credentials are checked.
    const server = await registerClient({ type: "confidential" });
    const good = await oauthPost("token", { grant_type: "client_credentials" }, { ...basic(server.client_id, server.client_secret!), "cf-connecting-ip": ip });
    expect(await oauthError(good)).toMatchObject({ status: 429, error: "too_many_failed_attempts" });
  });
});
