import { generateKeyPair } from "jose";
import { TOTP } from "otpauth";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser } from "./browser.mjs";
import { providerAddress, startProvider } from "./oidc-provider.mjs";
import { queryLocalD1, startKeygate, type Keygate } from "./support.mjs";

// Single sign-on against a real OpenID Connect provider on loopback (oidc-provider, in this
// process), with keygate under `wrangler dev`: the flow through plain HTTP for every refusal, and
// once in Chromium from the console's button. The provider signs in whoever the test names; a test
// that plays the attacker changes the ID token on its way back from the token endpoint.

const OWNER = { email: "owner@corp.example", password: "correct horse battery staple" };

let kg: Keygate;
let idp: Awaited<ReturnType<typeof startProvider>>;

/** Rows of keygate's local D1. */
const d1 = (sql: string) => queryLocalD1({ persistTo: `${kg.dir}/state` } as Parameters<typeof queryLocalD1>[0], sql) as Promise<any[]>;

beforeAll(async () => {
  const { port, issuer } = await providerAddress();
  kg = await startKeygate({
    vars: {
      OIDC_ISSUER: issuer,
      OIDC_CLIENT_ID: "keygate-test",
      OIDC_CLIENT_SECRET: "keygate-test-secret-0123456789abcdef",
      OIDC_PROVIDER_NAME: "Test IdP",
      OIDC_ALLOWED_DOMAINS: "corp.example",
      OIDC_DEFAULT_ROLE: "viewer",
      OIDC_TRUST_PROVIDER_MFA: "true",
    },
  });
  idp = await startProvider({ port, issuer, redirectUris: [`${kg.url}/_keygate/v1/sso/callback`] });
  await kg.admin.createAdmin({ ...OWNER, role: "owner" });
});
afterAll(async () => {
  await idp?.close();
  await kg?.stop();
});

/** Cookies by name, for one host, as a browser would keep them (enough for these flows). */
class Jar {
  private cookies = new Map<string, Map<string, string>>();
  take(url: string, res: Response): void {
    const host = new URL(url).host;
    const jar = this.cookies.get(host) ?? new Map();
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const [name, value] = [pair!.slice(0, pair!.indexOf("=")), pair!.slice(pair!.indexOf("=") + 1)];
      if (value === "" || /max-age=0/i.test(line)) jar.delete(name);
      else jar.set(name, value);
    }
    this.cookies.set(host, jar);
  }
  header(url: string): string {
    return [...(this.cookies.get(new URL(url).host) ?? new Map())].map(([k, v]) => `${k}=${v}`).join("; ");
  }
  get(url: string, name: string): string | undefined {
    return this.cookies.get(new URL(url).host)?.get(name);
  }
}

async function get(jar: Jar, url: string): Promise<Response> {
  const res = await fetch(url, { redirect: "manual", headers: { cookie: jar.header(url) } });
  jar.take(url, res);
  return res;
}

/** From /sso/start through the provider, up to (not into) keygate's callback: its URL. */
async function toCallback(jar: Jar, returnTo?: string): Promise<string> {
  let url = `${kg.url}/_keygate/v1/sso/start${returnTo === undefined ? "" : `?return_to=${encodeURIComponent(returnTo)}`}`;
  for (let hops = 0; hops < 10; hops++) {
    const res = await get(jar, url);
    expect([302, 303], `${url}: ${res.status}`).toContain(res.status);
    url = new URL(res.headers.get("location")!, url).toString();
    if (url.startsWith(`${kg.url}/_keygate/v1/sso/callback`)) return url;
  }
  throw new Error("no callback");
}

/** The callback's answer: where the console is sent, and the session cookie if one was set. */
async function finish(jar: Jar, callbackUrl: string): Promise<{ location: string; session: string | undefined }> {
  const res = await get(jar, callbackUrl);
  expect(res.status).toBe(302);
  return { location: res.headers.get("location")!, session: jar.get(kg.url, "keygate_session") };
}

async function signInVia(who: Parameters<typeof idp.signInAs>[0], returnTo?: string) {
  const jar = new Jar();
  idp.signInAs(who);
  return { jar, ...(await finish(jar, await toCallback(jar, returnTo))) };
}

/** A token from the console session's cookie, as the page gets one. */
async function tokenOf(session: string): Promise<Response> {
  return fetch(`${kg.url}/_keygate/v1/sessions/refresh`, { method: "POST", headers: { cookie: `keygate_session=${session}`, "x-keygate-csrf": "1" } });
}

const reasonOf = (location: string) => new URLSearchParams(location.split("#")[1] ?? "").get("sso_error");

describe("single sign-on", () => {
  it("signs in an existing admin by verified email and returns to the console page asked for", async () => {
    const { location, session } = await signInVia({ email: OWNER.email }, "/_keygate/console#/audit");
    expect(location).toBe("/_keygate/console#/audit");
    expect(session).toMatch(/^\w{43}$/);
    const res = await tokenOf(session!);
    expect(res.status).toBe(200);
    const { access_token } = (await res.json()) as { access_token: string };
    const account = (await (await fetch(`${kg.url}/_keygate/v1/account`, { headers: { authorization: `Bearer ${access_token}` } })).json()) as any;
    expect(account).toMatchObject({ email: OWNER.email, role: "owner" });
    const rows = await d1(`SELECT methods FROM admin_sessions WHERE admin_id = '${account.id}'`);
    expect(rows.map((row: { methods: string }) => JSON.parse(row.methods))).toContainEqual(["sso"]);
  });

  it("makes an unknown email of an allowed domain an admin with the default role; refuses other domains and unverified emails", async () => {
    const joined = await signInVia({ email: "newcomer@corp.example" });
    expect(joined.session).toBeDefined();
    const { access_token } = (await (await tokenOf(joined.session!)).json()) as { access_token: string };
    const me = (await (await fetch(`${kg.url}/_keygate/v1/account`, { headers: { authorization: `Bearer ${access_token}` } })).json()) as any;
    expect(me).toMatchObject({ email: "newcomer@corp.example", role: "viewer", has_password: false });

    const outsider = await signInVia({ email: "someone@elsewhere.example" });
    expect(reasonOf(outsider.location)).toBe("not_allowed");
    expect(outsider.session).toBeUndefined();
    const unverified = await signInVia({ email: "unverified@corp.example", emailVerified: false });
    expect(reasonOf(unverified.location)).toBe("email_unverified");
    const audit = await d1("SELECT resource_id, details FROM audit_events WHERE action = 'signin.failed' ORDER BY created_at");
    expect(audit.map((row: { resource_id: string; details: string }) => [row.resource_id, JSON.parse(row.details).reason])).toEqual(
      expect.arrayContaining([
        ["someone@elsewhere.example", "not_allowed"],
        ["unverified@corp.example", "email_unverified"],
      ]),
    );
  });

  it("refuses a callback replayed, finished in another browser, or with a code used before", async () => {
    const jar = new Jar();
    idp.signInAs({ email: OWNER.email });
    const callback = await toCallback(jar);
    // Another browser (no binding cookie) cannot finish it, and that attempt spends it.
    const stranger = new Jar();
    expect(reasonOf((await finish(stranger, callback)).location)).toBe("state");
    expect(reasonOf((await finish(jar, callback)).location)).toBe("state");

    // A fresh sign-in's state with the old sign-in's code: the provider refuses the code.
    const used = await signInVia({ email: OWNER.email });
    expect(used.session).toBeDefined();
    const again = new Jar();
    idp.signInAs({ email: OWNER.email });
    const fresh = new URL(await toCallback(again));
    const first = new URL(callback);
    fresh.searchParams.set("code", first.searchParams.get("code")!);
    expect(reasonOf((await finish(again, fresh.toString())).location)).toBe("code");
  });

  it("refuses ID tokens that are forged, expired, for another client or with another nonce", async () => {
    const { privateKey: stranger } = await generateKeyPair("RS256");
    const claims = (token: string) => JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString());
    const now = Math.floor(Date.now() / 1000);
    const cases: [string, (token: string) => Promise<string>][] = [
      ["forged", (token) => idp.sign(claims(token), { key: stranger })],
      ["forged, unknown key", (token) => idp.sign(claims(token), { key: stranger, keyId: "not-published" })],
      ["expired", (token) => idp.sign({ ...claims(token), iat: now - 7200, exp: now - 3600 })],
      ["wrong audience", (token) => idp.sign({ ...claims(token), aud: "another-client" })],
      ["wrong nonce", (token) => idp.sign({ ...claims(token), nonce: "not-the-one-keygate-sent" })],
      ["wrong issuer", (token) => idp.sign({ ...claims(token), iss: "https://evil.example" })],
    ];
    for (const [name, change] of cases) {
      const jar = new Jar();
      idp.signInAs({ email: OWNER.email });
      const callback = await toCallback(jar);
      idp.tamperNextToken(change);
      const { location, session } = await finish(jar, callback);
      expect(reasonOf(location), name).toBe("token");
      expect(session, name).toBeUndefined();
    }
    // The provider's own token, unchanged, still works.
    expect((await signInVia({ email: OWNER.email })).session).toBeDefined();
  });

  it("never redirects outside the console: return_to must be a console page of this origin", async () => {
    for (const returnTo of ["https://evil.example/", "//evil.example/_keygate/console", "/\\evil.example", "/_keygate/docs", "javascript:alert(1)", "/_keygate/console/../../x"]) {
      const res = await fetch(`${kg.url}/_keygate/v1/sso/start?return_to=${encodeURIComponent(returnTo)}`, { redirect: "manual" });
      expect(res.status, returnTo).toBe(400);
    }
    // keygate builds redirect_uri itself; one in the query is refused, not passed on.
    const smuggled = await fetch(`${kg.url}/_keygate/v1/sso/start?redirect_uri=${encodeURIComponent("https://evil.example/cb")}`, { redirect: "manual" });
    expect(smuggled.status).toBe(400);
    const start = await fetch(`${kg.url}/_keygate/v1/sso/start`, { redirect: "manual" });
    const authorize = new URL(start.headers.get("location")!);
    expect(authorize.searchParams.get("redirect_uri")).toBe(`${kg.url}/_keygate/v1/sso/callback`);
    expect(authorize.searchParams.get("code_challenge_method")).toBe("S256");
    expect(start.headers.get("set-cookie")).toMatch(/keygate_sso=\w+; Max-Age=600; Path=\/_keygate\/v1\/sso; HttpOnly; SameSite=Lax/);
  });

  it("asks an admin with a second factor for it, unless the provider says it checked more than one factor", async () => {
    const jar = new Jar();
    const signin = await (await fetch(`${kg.url}/_keygate/v1/signins`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ grant_type: "password", ...OWNER }) })).json();
    const token = (signin as { access_token: string }).access_token;
    const auth = { authorization: `Bearer ${token}` };
    const { secret } = (await (await fetch(`${kg.url}/_keygate/v1/account/totp`, { method: "POST", headers: auth })).json()) as { secret: string };
    const code = new TOTP({ secret }).generate();
    expect((await fetch(`${kg.url}/_keygate/v1/account/totp/confirm`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify({ code }) })).status).toBe(200);

    idp.signInAs({ email: OWNER.email, amr: ["pwd"] });
    const { location, session } = await finish(jar, await toCallback(jar, "/_keygate/console#/tenants"));
    expect(session).toBeUndefined();
    const params = new URLSearchParams(location.split("#")[1]);
    expect(params.get("mfa_token")).toMatch(/^\w{43}$/);
    expect(params.get("methods")).toBe("totp,recovery_code");
    expect(params.get("return_to")).toBe("/_keygate/console#/tenants");

    const trusted = await signInVia({ email: OWNER.email, amr: ["pwd", "mfa"] });
    expect(trusted.session).toBeDefined();
    // Leave the owner without a factor for the browser journey.
    await fetch(`${kg.url}/_keygate/v1/account/totp`, { method: "DELETE", headers: auth });
  });
});
describe("in the console", () => {
  it("offers \"Sign in with Test IdP\", which comes back signed in", async () => {
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      await page.goto(`${kg.url}/_keygate/`);
      idp.signInAs({ email: OWNER.email });
      await page.getByRole("link", { name: "Sign in with Test IdP" }).click();
      await page.getByRole("heading", { name: "Overview", level: 1 }).waitFor();
      expect(new URL(page.url()).pathname).toBe("/_keygate/console");
      // A refused sign-in (another person, in another browser) comes back to the sign-in page, saying why.
      // Its first ask for the ways to sign in is lost on the network: the page asks again.
      const other = await browser.newPage();
      let dropped = 0;
      await other.route("**/_keygate/v1/signin-methods", (request) => (dropped++ === 0 ? request.abort("connectionreset") : request.continue()));
      await other.goto(`${kg.url}/_keygate/`);
      idp.signInAs({ email: "stranger@elsewhere.example" });
      await other.getByRole("link", { name: "Sign in with Test IdP" }).click();
      await other.getByRole("heading", { name: "Sign in to keygate" }).waitFor();
      await expect.poll(() => other.getByRole("status").innerText()).toContain("not an admin of this keygate");
      expect(new URL(other.url()).hash).toBe("");
      expect(dropped).toBeGreaterThanOrEqual(2);
    } finally {
      await browser.close();
    }
  });
});
