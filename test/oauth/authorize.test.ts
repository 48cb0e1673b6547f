import { exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { admin, createTenant } from "../support/client";
import { adminUser, expectError, type SignedIn } from "../admin/support";
import { authorize, BASE, complete, consentRequest, oauthError, pkce, REDIRECT_URI, registerClient, storedOAuth, type Client } from "./support";

// The authorization endpoint and the consent page's completion: everything checked, in RFC 6749's
// order (nothing redirected before the app and its redirect URI are known), and nothing stored by a refusal.

let client: Client;
let challenge: string;
const params = () => ({
  response_type: "code",
  client_id: client.client_id,
  redirect_uri: REDIRECT_URI,
  code_challenge: challenge,
  code_challenge_method: "S256",
  state: "xyz",
});

beforeAll(async () => {
  client = await registerClient();
  ({ challenge } = await pkce());
});

/** The error keygate sent back to the app: the redirect URI with error, state and iss. */
function redirectedError(res: Response): Record<string, string> {
  expect(res.status).toBe(302);
  const location = res.headers.get("location")!;
  expect(location.startsWith(`${REDIRECT_URI}?`)).toBe(true);
  return Object.fromEntries(new URL(location).searchParams);
}

describe("the authorization endpoint", () => {
  it("hands a valid request to the consent page, signed, with what the page shows in readable claims", async () => {
    const request = consentRequest(await authorize({ ...params(), scope: "read" }));
    const claims = JSON.parse(atob(request.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/"))) as Record<string, unknown>;
    expect(claims).toMatchObject({ client_id: client.client_id, client_name: "Reports app", scope: "read", state: "xyz", redirect_uri: REDIRECT_URI, iss: BASE });
    expect((claims.exp as number) - (claims.iat as number)).toBe(600);
    // The consent URL's own query is kept.
    const location = new URL((await authorize(params())).headers.get("location")!);
    expect(location.searchParams.get("lang")).toBe("en");
  });

  it("answers 400 itself, redirecting nowhere, for an unknown client or a redirect URI that differs by one character", async () => {
    const before = await storedOAuth();
    for (const [change, description] of [
      [{ client_id: "cli_doesnotexist" }, /Unknown client_id/],
      [{ redirect_uri: `${REDIRECT_URI}/` }, /redirect_uri/],
      [{ redirect_uri: REDIRECT_URI.replace("callback", "callbacK") }, /redirect_uri/],
      [{ redirect_uri: "https://evil.example.com/callback" }, /redirect_uri/],
    ] as const) {
      const res = await authorize({ ...params(), ...change });
      expect(res.headers.get("location")).toBeNull();
      const error = await oauthError(res);
      expect(error).toMatchObject({ status: 400, error: "invalid_request" });
      expect(error.error_description).toMatch(description);
    }
    const { redirect_uri, ...withoutRedirect } = params();
    expect(redirect_uri).toBeTruthy();
    expect(await oauthError(await authorize(withoutRedirect))).toMatchObject({ status: 400, error: "invalid_request" });
    // A parameter given twice is refused before anything else.
    const twice = await exports.default.fetch(`${BASE}/_keygate/oauth/authorize?${new URLSearchParams(params())}&client_id=${client.client_id}`, { redirect: "manual" });
    expect(await oauthError(twice)).toMatchObject({ status: 400, error: "invalid_request" });
    expect(await storedOAuth()).toEqual(before);
  });

  it("sends every other refusal back to the app with state and iss: no PKCE, plain PKCE, another response type, a scope beyond the app's", async () => {
    const { code_challenge, ...noChallenge } = params();
    expect(code_challenge).toBeTruthy();
    expect(redirectedError(await authorize(noChallenge))).toMatchObject({ error: "invalid_request", state: "xyz", iss: BASE });
    expect(redirectedError(await authorize({ ...params(), code_challenge_method: "plain" }))).toMatchObject({ error: "invalid_request" });
    expect(redirectedError(await authorize({ ...params(), code_challenge: "short" }))).toMatchObject({ error: "invalid_request" });
    expect(redirectedError(await authorize({ ...params(), response_type: "token" }))).toMatchObject({ error: "unsupported_response_type" });
    const escalated = redirectedError(await authorize({ ...params(), scope: "read admin" }));
    expect(escalated).toMatchObject({ error: "invalid_scope", state: "xyz" });
    expect(escalated.error_description).toContain("admin");
  });

  it("refuses an app whose tenant is suspended", async () => {
    const suspended = await registerClient();
    expect((await admin("PATCH", `/tenants/${suspended.tenant_id}`, { status: "suspended" })).status).toBe(200);
    expect(redirectedError(await authorize({ ...params(), client_id: suspended.client_id }))).toMatchObject({ error: "unauthorized_client" });
  });
});

describe("completing an authorization (the consent page)", () => {
  let authorizer: SignedIn;
  let userTenant: string;
  beforeAll(async () => {
    authorizer = await adminUser("authorizer");
    userTenant = (await createTenant("Users")).id;
  });

  it("approve: back to the app with a code, the state and keygate's issuer; the authorizer role may do this and nothing else", async () => {
    const request = consentRequest(await authorize({ ...params(), scope: "read write" }));
    const res = await complete({ decision: "approve", request, tenant_id: userTenant, subject: "user_1", scopes: ["read"] }, authorizer.token);
    const { redirect_to } = (await res.json()) as { redirect_to: string };
    expect(res.status).toBe(200);
    const back = new URL(redirect_to);
    expect(`${back.origin}${back.pathname}`).toBe(REDIRECT_URI);
    expect(Object.fromEntries(back.searchParams)).toMatchObject({ state: "xyz", iss: BASE });
    expect(back.searchParams.get("code")).toMatch(/^kg_ac_/);
    for (const [method, path] of [["GET", "/tenants"], ["GET", "/oauth-clients"], ["POST", "/keys/verify"], ["GET", "/audit-events"]] as const) {
      await expectError(await admin(method, path, method === "POST" ? { key: "x" } : undefined, authorizer.token), 403, "insufficient_permissions");
    }
    const viewer = await adminUser("viewer");
    await expectError(await complete({ decision: "deny", request }, viewer.token), 403, "insufficient_permissions");
  });

  it("deny: back to the app with access_denied", async () => {
    const request = consentRequest(await authorize(params()));
    const res = await complete({ decision: "deny", request }, authorizer.token);
    const back = new URL(((await res.json()) as { redirect_to: string }).redirect_to);
    expect(Object.fromEntries(back.searchParams)).toMatchObject({ error: "access_denied", state: "xyz", iss: BASE });
    expect(back.searchParams.has("code")).toBe(false);
  });

  it("refuses a request completed before, forged, altered, or for scopes the app did not ask for; nothing is stored", async () => {
    const request = consentRequest(await authorize({ ...params(), scope: "read" }));
    const approve = { decision: "approve", request, tenant_id: userTenant, subject: "user_2" };
    const before = await storedOAuth();
    const [header, payload] = request.split(".");
    const altered = `${header}.${btoa(atob(payload!.replace(/-/g, "+").replace(/_/g, "/")).replace('"read"', '"read write"')).replace(/=+$/, "")}.${request.split(".")[2]}`;
    expect(await failingField(await complete({ ...approve, request: altered }))).toBe("request");
    expect(await failingField(await complete({ ...approve, request: "eyJhbGciOiJub25lIn0.e30." }))).toBe("request");
    expect(await failingField(await complete({ ...approve, scopes: ["read", "write"] }))).toBe("scopes");
    expect(await failingField(await complete({ ...approve, subject: "has space" }))).toBe("subject");
    await expectError(await complete({ ...approve, tenant_id: "ten_doesnotexist" }), 404, "not_found");
    expect(await storedOAuth()).toEqual(before);
    expect((await complete(approve)).status).toBe(200);
    await expectError(await complete(approve), 409, "conflict");
    await expectError(await complete({ decision: "deny", request }), 409, "conflict");
  });

  it("refuses a user of a suspended tenant", async () => {
    const tenant = await createTenant("Suspended users");
    expect((await admin("PATCH", `/tenants/${tenant.id}`, { status: "suspended" })).status).toBe(200);
    const request = consentRequest(await authorize(params()));
    await expectError(await complete({ decision: "approve", request, tenant_id: tenant.id, subject: "user_3" }), 409, "conflict");
  });
});

async function failingField(res: Response): Promise<string> {
  const error = await expectError(res, 400, "invalid_request");
  return ((error.error.details?.fields ?? []) as { field: string }[])[0]!.field;
}
