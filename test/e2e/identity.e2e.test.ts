import { TOTP } from "otpauth";
import type { Browser, CDPSession, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser } from "./browser.mjs";
import { accessibilityViolations } from "./page-checks.mjs";
import { queryLocalD1, startKeygate, type Keygate } from "./support.mjs";

// An admin's identity in the console, in Chromium against keygate under `wrangler dev`: an
// authenticator app enrolled from its QR code's secret and asked for at sign-in, a passkey made and
// used through Chromium's virtual authenticator, the step-up prompt that asks in place and lets a
// role change go through, and the sign-in page saying why a session ended. One keygate and one
// browser for the file. The console is opened on `localhost`: WebAuthn needs a domain, not an IP.

const OWNER = { email: "owner@example.com", password: "correct horse battery staple" };
const TEAMMATE = { email: "teammate@example.com", password: "teammate horse battery staple" };

let kg: Keygate;
let browser: Browser;
let origin: string;

beforeAll(async () => {
  kg = await startKeygate();
  origin = kg.url.replace("127.0.0.1", "localhost");
  await kg.admin.createAdmin({ ...OWNER, role: "owner" });
  await kg.admin.createAdmin({ ...TEAMMATE, role: "viewer" });
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await kg?.stop();
});

async function newPage(): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  return context.newPage();
}

/** Chromium's virtual authenticator (DevTools protocol): a platform passkey that verifies its user. */
async function virtualAuthenticator(page: Page): Promise<CDPSession> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: { protocol: "ctap2", transport: "internal", hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  return cdp;
}

async function passwordSignIn(page: Page, who: { email: string; password: string }): Promise<void> {
  await page.goto(`${origin}/_keygate/`);
  await page.getByLabel("Email").fill(who.email);
  await page.getByLabel("Password").fill(who.password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
}

const signOut = (page: Page) => page.getByRole("navigation", { name: "Console" }).getByRole("button", { name: "Sign out" }).click();
const heading = (page: Page, name: string) => page.getByRole("heading", { name, level: 1 }).waitFor();
const state = () => ({ persistTo: `${kg.dir}/state` }) as Parameters<typeof queryLocalD1>[0];

describe("an authenticator app", () => {
  it("is enrolled from the account page (QR code and secret), gives recovery codes once, and is asked for at the next sign-in", async () => {
    const page = await newPage();
    await passwordSignIn(page, OWNER);
    await heading(page, "Overview");
    await page.getByRole("link", { name: "Account" }).click();
    await page.getByRole("button", { name: "Add an authenticator app" }).click();
    const dialog = page.getByRole("dialog", { name: "Add an authenticator app" });
    await expect.poll(() => dialog.getByRole("img", { name: "QR code of the authenticator secret" }).evaluate((img) => (img as unknown as { complete: boolean; naturalWidth: number }).complete && (img as unknown as { naturalWidth: number }).naturalWidth > 0)).toBe(true);
    const secret = (await dialog.locator("code.secret").innerText()).trim();
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    const app = new TOTP({ secret });
    await dialog.getByLabel("Code from the app").fill("000000");
    await dialog.getByRole("button", { name: "Turn on" }).click();
    await expect.poll(() => dialog.getByText("is not correct", { exact: true }).count()).toBe(1);
    await dialog.getByLabel("Code from the app").fill(app.generate());
    await dialog.getByRole("button", { name: "Turn on" }).click();
    const codes = page.getByRole("dialog", { name: "Your recovery codes" });
    await expect.poll(() => codes.getByRole("listitem").count()).toBe(10);
    await codes.getByRole("button", { name: "I have saved them" }).click();
    await expect.poll(() => page.getByText("On: sign-ins with your password also ask for a code.").count()).toBe(1);
    expect(await accessibilityViolations(page)).toEqual([]);

    await signOut(page);
    await passwordSignIn(page, OWNER);
    await heading(page, "Confirm it is you");
    // The code of the next 30 seconds: the one that confirmed the app is spent, and one step ahead is accepted.
    await page.getByLabel("Code from your authenticator app, or a recovery code").fill(app.generate({ timestamp: Date.now() + 30_000 }));
    await page.getByRole("button", { name: "Continue" }).click();
    await heading(page, "Overview");
    await page.close();
  });
});

describe("a passkey", () => {
  it("is added with the virtual authenticator and then signs in alone, without the password", async () => {
    const page = await newPage();
    await virtualAuthenticator(page);
    await passwordSignIn(page, TEAMMATE);
    await heading(page, "Overview");
    await page.getByRole("link", { name: "Account" }).click();
    await page.getByLabel("Name for a new passkey").fill("This laptop");
    await page.getByRole("button", { name: "Add a passkey" }).click();
    const codes = page.getByRole("dialog", { name: "Your recovery codes" });
    await expect.poll(() => codes.getByRole("listitem").count()).toBe(10);
    await codes.getByRole("button", { name: "I have saved them" }).click();
    await expect.poll(() => page.getByRole("cell", { name: "This laptop" }).count()).toBe(1);

    await signOut(page);
    await page.getByRole("button", { name: "Use a passkey" }).click();
    // Signed in, back on the page it left.
    await heading(page, "Account");
    const rows = await queryLocalD1(state(), "SELECT methods FROM admin_sessions ORDER BY created_at DESC LIMIT 1");
    expect(JSON.parse(rows[0]!.methods as string)).toEqual(["hwk", "mfa"]);
    await page.close();
  });
});

describe("step-up", () => {
  it("asks for the password in place when a role change needs a fresh sign-in, then makes the change", async () => {
    const page = await newPage();
    // An owner of its own, so this journey does not depend on the ones above.
    const boss = { email: "boss@example.com", password: "boss horse battery staple" };
    await kg.admin.createAdmin({ ...boss, role: "owner" });
    await passwordSignIn(page, boss);
    await heading(page, "Overview");
    // Six minutes pass for this session: its sign-in is then too old for a sensitive action.
    await queryLocalD1(state(), "UPDATE admin_sessions SET authenticated_at = authenticated_at - 360000 WHERE revoked_at IS NULL AND admin_id = (SELECT id FROM admins WHERE email = 'boss@example.com')");
    await page.getByRole("link", { name: "Admins" }).click();
    await page.getByLabel(`Role of ${TEAMMATE.email}`).selectOption("admin");
    const prompt = page.getByRole("dialog", { name: "Confirm it is you" });
    await prompt.getByLabel("Your password", { exact: true }).fill("not my password");
    await prompt.getByRole("button", { name: "Confirm" }).click();
    await expect.poll(() => prompt.getByText("The password is not correct.").count()).toBe(1);
    await prompt.getByLabel("Your password", { exact: true }).fill(boss.password);
    await prompt.getByRole("button", { name: "Confirm" }).click();
    await expect.poll(() => prompt.count()).toBe(0);
    // The change went through after the confirmation, without being asked for again.
    await expect.poll(async () => (await queryLocalD1(state(), `SELECT role FROM admins WHERE email = '${TEAMMATE.email}'`))[0]!.role).toBe("admin");
    await expect.poll(() => page.getByLabel(`Role of ${TEAMMATE.email}`).inputValue()).toBe("admin");
    await page.close();
  });
});

describe("a session ended elsewhere", () => {
  it("returns the console to sign-in saying why", async () => {
    const admin = { email: "elsewhere@example.com", password: "elsewhere horse battery staple" };
    await kg.admin.createAdmin({ ...admin, role: "viewer" });
    const page = await newPage();
    await passwordSignIn(page, admin);
    await heading(page, "Overview");
    // Signed out from another device: the CLI's session lists the browser's and ends it.
    const signin = await fetch(`${kg.url}/_keygate/v1/signins`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ grant_type: "password", ...admin }) });
    const token = ((await signin.json()) as { access_token: string }).access_token;
    const sessions = (await (await fetch(`${kg.url}/_keygate/v1/account/sessions`, { headers: { authorization: `Bearer ${token}` } })).json()) as { data: { id: string; kind: string }[] };
    const browserSession = sessions.data.find((s) => s.kind === "console")!;
    expect((await fetch(`${kg.url}/_keygate/v1/account/sessions/${browserSession.id}`, { method: "DELETE", headers: { authorization: `Bearer ${token}` } })).status).toBe(204);

    await page.getByRole("link", { name: "Tenants" }).click();
    await heading(page, "Sign in to keygate");
    await expect.poll(() => page.getByRole("status").innerText()).toBe("Your session was signed out, here or from another device: sign in again.");
    await page.close();
  });

  it("serves the console (sign-in, second step and account alike: one page) unframeable", async () => {
    const res = await fetch(`${origin}/_keygate/console`);
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    expect(res.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
  });
});
