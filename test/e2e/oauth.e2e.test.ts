import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import * as oauth from "oauth4webapi";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser } from "./browser.mjs";
import { accessibilityViolations, horizontalOverflow } from "./page-checks.mjs";
import { startKeygate, type Keygate } from "./support.mjs";

// OAuth 2.1 end to end: keygate under `wrangler dev`, the example consent page on its origin, a
// real Chromium for the user, and oauth4webapi (a certified OAuth client library) for the app.
// Nothing hand-written speaks OAuth here: discovery, the authorization response, every token
// request and the revocation are the library's.

const SCREENSHOTS = resolve(process.env.KEYGATE_SCREENSHOTS ?? join(import.meta.dirname, "screenshots"));
const ALICE = { username: "alice", password: "alice's long password", subject: "user_alice" };
const AUTHORIZER = { email: "consent@example.com", password: "the consent page's password" };
/** oauth4webapi refuses plain http unless told: wrangler dev listens on loopback http. */
const INSECURE = { [oauth.allowInsecureRequests]: true };

let kg: Keygate;
let browser: Browser;
let as: oauth.AuthorizationServer;
let userTenant: string;
let publicClient: oauth.Client;
let redirectUri: string;

async function adminCall<T = any>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${kg.url}/_keygate/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${kg.adminToken}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return (text ? JSON.parse(text) : null) as T;
}

/**
 * A call through keygate's proxy with the access token, as the app makes it. A refusal carries an
 * RFC 6750 challenge, which the library hands over as an error holding the response.
 */
async function callApi(token: string, method = "GET"): Promise<{ status: number; body: any; headers: Headers }> {
  let res: Response;
  try {
    res = await oauth.protectedResourceRequest(token, method, new URL(`${kg.url}/reports`), new Headers({ "cf-connecting-ip": "198.51.100.40" }), null, INSECURE);
  } catch (error) {
    if (!(error instanceof oauth.WWWAuthenticateChallengeError)) throw error;
    res = error.response;
  }
  return { status: res.status, body: await res.json(), headers: res.headers };
}

/**
 * The user's part, in Chromium: the app sends them to keygate's authorization endpoint, keygate to
 * the consent page, where they sign in and choose; the browser ends at the app's redirect URI.
 */
async function authorizeInBrowser(page: Page, scope: string, choose: (page: Page) => Promise<void>, shot?: string) {
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const url = new URL(as.authorization_endpoint!);
  url.searchParams.set("client_id", publicClient.client_id);
  url.searchParams.set("redirect_uri", redirectUri);
  url.searchParams.set("response_type", "code");
  url.searchParams.set("scope", scope);
  url.searchParams.set("state", state);
  url.searchParams.set("code_challenge", await oauth.calculatePKCECodeChallenge(verifier));
  url.searchParams.set("code_challenge_method", "S256");
  await page.goto(url.toString());
  await expect.poll(() => page.getByRole("heading", { name: "Allow access?" }).count()).toBe(1);
  expect(new URL(page.url()).pathname).toBe("/oauth/consent");
  await page.getByLabel("Username").fill(ALICE.username);
  await page.getByLabel("Password").fill(ALICE.password);
  if (shot) await page.screenshot({ path: join(SCREENSHOTS, `${shot}.png`), fullPage: true });
  await choose(page);
  await page.waitForURL((target) => target.href.startsWith(redirectUri));
  return { callback: new URL(page.url()), verifier, state };
}

/** The app's part after the browser came back: the library checks the response, then exchanges the code. */
async function exchange(callback: URL, state: string, verifier: string): Promise<oauth.TokenEndpointResponse> {
  const params = oauth.validateAuthResponse(as, publicClient, callback, state);
  const response = await oauth.authorizationCodeGrantRequest(as, publicClient, oauth.None(), params, redirectUri, verifier, INSECURE);
  return oauth.processAuthorizationCodeResponse(as, publicClient, response);
}

const refresh = async (token: string) =>
  oauth.processRefreshTokenResponse(as, publicClient, await oauth.refreshTokenGrantRequest(as, publicClient, oauth.None(), token, INSECURE));

/**
 * What the library makes of a refused request: the OAuth error code (a 401 with a WWW-Authenticate
 * challenge comes as a challenge error, its body unread).
 */
async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof oauth.ResponseBodyError || error instanceof oauth.AuthorizationResponseError) return error.error;
    if (error instanceof oauth.WWWAuthenticateChallengeError) return ((await error.response.json()) as { error: string }).error;
    throw error;
  }
  throw new Error("expected a refusal");
}

beforeAll(async () => {
  kg = await startKeygate();
  browser = await launchBrowser();
  mkdirSync(SCREENSHOTS, { recursive: true });
  userTenant = (await kg.admin.createTenant("Alice's company")).id;
  await kg.admin.createAdmin({ ...AUTHORIZER, role: "authorizer" });
  kg.consentPage({ authorizer: AUTHORIZER, users: [{ ...ALICE, tenantId: userTenant }] });
  redirectUri = `${kg.originUrl}/app/callback`;
  const maker = await kg.admin.createTenant("Reports Inc.");
  const registered = await adminCall("POST", "/oauth-clients", {
    tenant_id: maker.id,
    name: "Reports <b>app</b>",
    type: "public",
    redirect_uris: [redirectUri],
    scopes: ["read", "write"],
  });
  publicClient = { client_id: registered.client_id, token_endpoint_auth_method: "none" };
});

afterAll(async () => {
  await browser?.close();
  await kg?.stop();
});

describe("OAuth 2.1 against wrangler dev, driven by oauth4webapi", () => {
  it("is discovered from the API's own address (RFC 8414, RFC 9728)", async () => {
    const issuer = new URL(kg.url);
    as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: "oauth2", ...INSECURE }));
    expect(as).toMatchObject({
      token_endpoint: `${kg.url}/_keygate/oauth/token`,
      code_challenge_methods_supported: ["S256"],
      authorization_response_iss_parameter_supported: true,
    });
    const resource = await (await fetch(`${kg.url}/.well-known/oauth-protected-resource`)).json();
    expect(resource).toMatchObject({ resource: kg.url, authorization_servers: [kg.url] });
  });

  let tokens: oauth.TokenEndpointResponse;

  it("runs the code flow with PKCE through the example consent page in Chromium, and the token calls the API through keygate", async () => {
    const page = await browser.newPage();
    const { callback, verifier, state } = await authorizeInBrowser(
      page,
      "read write",
      async (p) => {
        // Markup in the app's name is shown as text; the user approves only "read".
        await expect.poll(() => p.getByText("Reports <b>app</b>", { exact: true }).count()).toBe(1);
        await p.getByLabel("write").uncheck();
        await p.getByRole("button", { name: "Allow" }).click();
      },
      "oauth-consent",
    );
    // A wrong verifier is refused, and the code still serves its rightful owner.
    const params = oauth.validateAuthResponse(as, publicClient, callback, state);
    const wrongVerifier = oauth.authorizationCodeGrantRequest(as, publicClient, oauth.None(), params, redirectUri, oauth.generateRandomCodeVerifier(), INSECURE);
    expect(await refusal(wrongVerifier.then((res) => oauth.processAuthorizationCodeResponse(as, publicClient, res)))).toBe("invalid_grant");
    tokens = await exchange(callback, state, verifier);
    expect(tokens).toMatchObject({ token_type: "bearer", scope: "read", expires_in: 3600 });
    expect(tokens.access_token).toMatch(/^kg_at_/);

    const api = await callApi(tokens.access_token);
    expect(api.status).toBe(200);
    expect(api.body.headers).toMatchObject({ "x-keygate-tenant-id": userTenant, "x-keygate-subject": ALICE.subject, "x-keygate-client-id": publicClient.client_id, "x-keygate-scopes": "read" });
    expect(api.body.headers["x-keygate-signature"]).toMatch(/^v1=[0-9a-f]{64}$/);
    const write = await callApi(tokens.access_token, "POST");
    expect({ status: write.status, code: write.body.error.code }).toEqual({ status: 403, code: "insufficient_permissions" });
    expect(write.headers.get("www-authenticate")).toContain('error="insufficient_scope"');
    await page.close();
  });

  it("refreshes with rotation; the spent refresh token used again revokes the whole grant, on the very next call", async () => {
    const rotated = await refresh(tokens.refresh_token!);
    expect(rotated.refresh_token).not.toBe(tokens.refresh_token);
    expect((await callApi(rotated.access_token)).status).toBe(200);
    expect(await refusal(refresh(tokens.refresh_token!))).toBe("invalid_grant");
    const after = await callApi(rotated.access_token);
    expect({ status: after.status, code: after.body.error.code }).toEqual({ status: 401, code: "revoked_token" });
    expect(after.headers.get("www-authenticate")).toContain('error="invalid_token"');
    expect(await refusal(refresh(rotated.refresh_token!))).toBe("invalid_grant");
  });

  it("the app's own revocation (RFC 7009) takes effect on the very next call; a user who denies sends the app access_denied", async () => {
    const page = await browser.newPage();
    const second = await authorizeInBrowser(page, "read", (p) => p.getByRole("button", { name: "Allow" }).click());
    const fresh = await exchange(second.callback, second.state, second.verifier);
    expect((await callApi(fresh.access_token)).status).toBe(200);
    await oauth.processRevocationResponse(await oauth.revocationRequest(as, publicClient, oauth.None(), fresh.refresh_token!, INSECURE));
    expect((await callApi(fresh.access_token)).body.error.code).toBe("revoked_token");

    const denied = await authorizeInBrowser(page, "read", (p) => p.getByRole("button", { name: "Deny" }).click());
    expect(await refusal(Promise.resolve().then(() => oauth.validateAuthResponse(as, publicClient, denied.callback, denied.state)))).toBe("access_denied");
    await page.close();
  });

  it("client_credentials: a confidential client acts for its own tenant, its token refused once that tenant is suspended", async () => {
    const owner = await kg.admin.createTenant("Nightly sync");
    const registered = await adminCall("POST", "/oauth-clients", { tenant_id: owner.id, name: "Sync", type: "confidential", redirect_uris: [redirectUri], scopes: ["read"] });
    const client: oauth.Client = { client_id: registered.client_id };
    const auth = oauth.ClientSecretBasic(registered.client_secret);
    const response = await oauth.clientCredentialsGrantRequest(as, client, auth, { scope: "read" }, INSECURE);
    const granted = await oauth.processClientCredentialsResponse(as, client, response);
    expect(granted.refresh_token).toBeUndefined();
    const api = await callApi(granted.access_token);
    expect(api.body.headers).toMatchObject({ "x-keygate-tenant-id": owner.id, "x-keygate-client-id": client.client_id });
    expect(api.body.headers["x-keygate-subject"]).toBeUndefined();
    await kg.admin.updateTenant(owner.id, { status: "suspended" });
    expect((await callApi(granted.access_token)).body.error.code).toBe("tenant_inactive");
    const wrongSecret = oauth.clientCredentialsGrantRequest(as, client, oauth.ClientSecretBasic(`${registered.client_secret}x`), {}, INSECURE);
    expect(await refusal(wrongSecret.then((res) => oauth.processClientCredentialsResponse(as, client, res)))).toBe("invalid_client");
  });

  it("the console's OAuth clients page lists the apps and their grants, registers an app with its secret shown once, and revokes a grant", async () => {
    const owner = { email: "owner@example.com", password: "the owner's long password" };
    await kg.admin.createAdmin({ ...owner, role: "owner" });
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const live = await authorizeInBrowser(page, "read", (p) => p.getByRole("button", { name: "Allow" }).click());
    const tokens = await exchange(live.callback, live.state, live.verifier);

    await page.goto(`${kg.url}/_keygate/`);
    await page.getByLabel("Email").fill(owner.email);
    await page.getByLabel("Password").fill(owner.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("link", { name: "OAuth clients" }).click();
    await expect.poll(() => page.getByRole("link", { name: "Reports <b>app</b>", exact: true }).count()).toBe(1);
    await checkPage(page, "oauth-clients");

    await page.getByRole("button", { name: "Register a client" }).click();
    await page.getByLabel("Tenant that owns the app").fill(userTenant);
    await page.getByLabel("Name (shown to users)").fill("Nightly export");
    await page.getByLabel("Type").selectOption("confidential");
    await page.getByLabel("Redirect URIs").fill("https://export.example.com/callback");
    await page.getByRole("button", { name: "Register", exact: true }).click();
    const secret = page.getByLabel(/^Client id cli_/);
    await expect.poll(() => secret.inputValue()).toMatch(/^kg_cs_/);
    await page.getByRole("button", { name: "Done, I have copied it" }).click();
    await expect.poll(() => page.getByRole("link", { name: "Nightly export" }).count()).toBe(1);

    await page.getByRole("link", { name: "Reports <b>app</b>", exact: true }).click();
    await expect.poll(() => page.getByRole("button", { name: "Revoke" }).count()).toBe(1);
    await checkPage(page, "oauth-client");
    await page.getByRole("button", { name: "Revoke" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Revoke" }).click();
    await expect.poll(() => page.getByRole("button", { name: "Revoke" }).count()).toBe(0);
    expect((await callApi(tokens.access_token)).body.error.code).toBe("revoked_token");
    await page.close();
  });
});

/** A console page at a laptop's and a phone's width: a screenshot of each, no serious axe-core finding, nothing wider than the window. */
async function checkPage(page: Page, name: string): Promise<void> {
  const problems: string[] = [];
  for (const [width, height] of [[1280, 800], [390, 844]] as const) {
    await page.setViewportSize({ width, height });
    await page.screenshot({ path: join(SCREENSHOTS, `${name}-${width}x${height}.png`), fullPage: true });
    for (const wide of await horizontalOverflow(page)) problems.push(`${width} px: wider than the window: ${wide}`);
    for (const violation of await accessibilityViolations(page)) problems.push(`${width} px: ${violation}`);
  }
  await page.setViewportSize({ width: 1280, height: 800 });
  expect(problems, name).toEqual([]);
}
