import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser } from "./browser.mjs";
import { accessibilityViolations, horizontalOverflow } from "./page-checks.mjs";
import { queryLocalD1, startKeygate, type Keygate } from "./support.mjs";

// The console in a real, headless Chromium (browser.mjs finds it; playwright-core drives it) against
// keygate under `wrangler dev` on loopback, as an admin would use it. Nothing is mocked: every
// click goes through the admin API, every key is tried on the gateway.

/** Where the screenshots go, for a reviewer to look at (gitignored). */
const SCREENSHOTS = resolve(process.env.KEYGATE_SCREENSHOTS ?? join(import.meta.dirname, "screenshots"));
const OWNER = { email: "owner@example.com", password: "correct horse battery staple" };
const VIEWER = { email: "viewer@example.com", password: "viewer horse battery staple" };
// Names an attacker with a tenant's self-service key (or a careless admin) could give: each
// sets window.__xss if it ever runs.
const TENANT_NAME = `Acme <img src=x onerror="window.__xss='tenant'"><script>window.__xss='tenant'</script>`;
const KEY_NAME = `billing <script>window.__xss='key'</script>`;

let kg: Keygate;
let browser: Browser;
/** Every console response any page saw, to check its security headers at the end. */
const consoleResponses: { url: string; headers: Record<string, string> }[] = [];

beforeAll(async () => {
  kg = await startKeygate();
  for (const [who, role] of [[OWNER, "owner"], [VIEWER, "viewer"]] as const) await kg.admin.createAdmin({ ...who, role });
  browser = await launchBrowser();
  mkdirSync(SCREENSHOTS, { recursive: true });
  console.log(`console screenshots: ${SCREENSHOTS}`);
});
afterAll(async () => {
  await browser?.close();
  await kg?.stop();
});

async function newPage(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.on("response", (res) => {
    if (new URL(res.url()).pathname.startsWith("/_keygate/console") || new URL(res.url()).pathname === "/_keygate/") {
      consoleResponses.push({ url: res.url(), headers: res.headers() });
    }
  });
  return { context, page };
}

/**
 * The page at both sizes a reviewer looks at, a laptop and a phone: a screenshot of each, and at
 * each no serious or critical axe-core violation and nothing wider than the window.
 */
async function check(page: Page, name: string): Promise<void> {
  const problems: string[] = [];
  for (const [width, height] of [[1280, 800], [390, 844]] as const) {
    await page.setViewportSize({ width, height });
    // Two frames: the layout of the new width, then what redraws itself for it (the usage chart).
    await page.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))));
    await page.screenshot({ path: join(SCREENSHOTS, `${name}-${width}x${height}.png`), fullPage: true });
    for (const wide of await horizontalOverflow(page)) problems.push(`${width} px: wider than the window: ${wide}`);
    for (const violation of await accessibilityViolations(page)) problems.push(`${width} px: ${violation}`);
  }
  await page.setViewportSize({ width: 1280, height: 800 });
  expect(problems, name).toEqual([]);
}

async function signIn(page: Page, who: { email: string; password: string }): Promise<void> {
  await page.goto(`${kg.url}/_keygate/`);
  await page.getByLabel("Email").fill(who.email);
  await page.getByLabel("Password").fill(who.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect.poll(() => page.getByRole("heading", { name: "Overview" }).count()).toBe(1);
}

/** What the gateway answers a key: "ok" or the refusal's code. */
async function useKey(key: string): Promise<string> {
  const res = await fetch(`${kg.url}/hello`, { headers: { "x-api-key": key, "cf-connecting-ip": "198.51.100.12" } });
  return res.status === 200 ? "ok" : (await res.json()).error.code;
}

/** A token of the page's own session, as the page itself would get it (same origin, cookie, CSRF header). */
function sessionToken(page: Page): Promise<string | null> {
  return page.evaluate(async () => {
    const res = await fetch("/_keygate/v1/sessions/refresh", { method: "POST", headers: { "x-keygate-csrf": "1" } });
    return res.ok ? (await res.json()).access_token : null;
  });
}

const api = (path: string, token: string, init: RequestInit = {}) =>
  fetch(`${kg.url}/_keygate/v1${path}`, { ...init, headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...init.headers } });

/** Text of the visible page and every form control's value: where a key could still be read. */
const pageText = (page: Page) =>
  page.evaluate(() => document.documentElement.outerHTML + [...document.querySelectorAll("input, textarea")].map((el) => (el as HTMLInputElement).value).join("\n"));

describe("the console in Chromium", () => {
  let owner: Page;
  let tenantId: string;
  let firstKey: string;
  let rotatedKey: string;

  it("signs in with the admin API's password grant, and keeps no token where script can read it", async () => {
    ({ page: owner } = await newPage());
    await owner.goto(`${kg.url}/_keygate/`);
    expect(new URL(owner.url()).pathname).toBe("/_keygate/console");
    await owner.getByLabel("Email").fill(OWNER.email);
    await check(owner, "1-signin");
    await owner.getByLabel("Password").fill("not the password at all");
    await owner.getByRole("button", { name: "Sign in" }).click();
    // The API's refusal, in words, next to the form.
    await expect.poll(() => owner.getByRole("alert").filter({ hasText: "The email or password is not correct." }).count()).toBe(1);
    await owner.getByLabel("Password").fill(OWNER.password);
    await owner.getByRole("button", { name: "Sign in" }).click();
    // The first page is the overview; the wrong password above is its first failed sign-in.
    await expect.poll(() => owner.getByRole("heading", { name: "Overview" }).count()).toBe(1);
    await expect.poll(() => owner.getByRole("region", { name: "Failed sign-ins" }).getByRole("row", { name: /owner@example\.com/ }).count()).toBe(1);

    const storage = await owner.evaluate(() => ({ local: localStorage.length, session: sessionStorage.length, cookie: document.cookie }));
    expect(storage).toEqual({ local: 0, session: 0, cookie: "" });
    const [cookie] = await owner.context().cookies();
    expect(cookie).toMatchObject({ name: "keygate_session", httpOnly: true, sameSite: "Strict", path: "/_keygate/v1/sessions" });
  });

  it("creates a tenant whose name holding markup is shown as text", async () => {
    await owner.getByRole("link", { name: "Tenants" }).click();
    await expect.poll(() => owner.getByText("No tenants yet.").count()).toBe(1);
    await owner.getByLabel("New tenant name").fill(TENANT_NAME);
    await owner.getByRole("button", { name: "Create tenant" }).click();
    await expect.poll(() => owner.getByRole("heading", { name: "Keys", exact: true }).count()).toBe(1);
    tenantId = owner.url().split("/").at(-1)!;
    expect(tenantId).toMatch(/^ten_/);
    await expect.poll(() => owner.getByRole("heading", { level: 1 }).innerText()).toContain(TENANT_NAME);
    expect(await owner.evaluate(() => (window as { __xss?: string }).__xss)).toBeUndefined();
  });

  it("creates a key, shows it once, and lists it by its display form only", async () => {
    await owner.getByRole("button", { name: "Create key" }).click();
    await owner.getByLabel("Name", { exact: true }).fill(KEY_NAME);
    await owner.getByLabel("Description (optional)").fill("the billing service");
    // Least privilege first: read only, more is a click away.
    expect(await owner.getByRole("checkbox", { name: "read" }).isChecked()).toBe(true);
    expect(await owner.getByRole("checkbox", { name: "write" }).isChecked()).toBe(false);
    // The API's refusal of a field is shown next to that field, in words.
    const otherScopes = owner.getByLabel("Other scopes (comma-separated)");
    await otherScopes.fill("not a scope!");
    await owner.getByRole("button", { name: "Create key" }).last().click();
    await expect.poll(() => otherScopes.getAttribute("aria-invalid")).toBe("true");
    expect(await owner.locator(".field-error").innerText()).toContain('must look like "read"');
    await otherScopes.fill("");
    // Edited, the field is no longer marked by its old complaint.
    expect(await otherScopes.getAttribute("aria-invalid")).toBeNull();
    expect(await owner.locator(".field-error").count()).toBe(0);
    await check(owner, "3-create-key-dialog");
    await owner.getByRole("button", { name: "Create key" }).last().click();

    const reveal = owner.getByRole("dialog", { name: "Your new API key" });
    await expect.poll(() => reveal.count()).toBe(1);
    await expect.poll(() => reveal.getByText("It is shown only once").count()).toBe(1);
    firstKey = await reveal.getByLabel(/API key/).inputValue();
    expect(firstKey).toMatch(/^kg_live_/);
    await check(owner, "3-reveal-dialog");
    expect(await useKey(firstKey)).toBe("ok");

    await reveal.getByRole("button", { name: "Done, I have copied it" }).click();
    await expect.poll(() => reveal.count()).toBe(0);
    const row = owner.getByRole("row", { name: /billing/ });
    await expect.poll(() => row.count()).toBe(1);
    const display = `${firstKey.slice(0, 12)}…${firstKey.slice(-4)}`;
    expect(await row.getByText(display).count()).toBe(1);
    expect(await pageText(owner)).not.toContain(firstKey);
    expect(await owner.evaluate(() => (window as { __xss?: string }).__xss)).toBeUndefined();
    await check(owner, "2-keys");
  });

  it("rotates with a 1-minute grace: the new key is shown once and both keys work", async () => {
    await owner.getByRole("row", { name: /billing/ }).getByRole("button", { name: "Rotate" }).click();
    const rotate = owner.getByRole("dialog", { name: "Rotate key" });
    await rotate.getByLabel("Old key keeps working for").selectOption({ label: "1 minute" });
    await rotate.getByRole("button", { name: "Rotate" }).click();
    const reveal = owner.getByRole("dialog", { name: "Your rotated API key" });
    await expect.poll(() => reveal.getByText("The old key keeps working for 1 minute.").count()).toBe(1);
    rotatedKey = await reveal.getByLabel(/API key/).inputValue();
    expect(rotatedKey).not.toBe(firstKey);
    await reveal.getByRole("button", { name: "Done, I have copied it" }).click();
    expect(await useKey(firstKey)).toBe("ok");
    expect(await useKey(rotatedKey)).toBe("ok");
    expect(await pageText(owner)).not.toContain(rotatedKey);
  });

  it("shows a key's settings, usage and verifications; revoking it refuses the next request", async () => {
    // The rotated key is the newest: first row of the active keys.
    await owner.getByLabel("Status").selectOption("active");
    await owner.getByRole("button", { name: "Filter" }).click();
    await expect.poll(() => owner.getByRole("row", { name: /billing/ }).count()).toBe(2);
    await owner.getByRole("row", { name: /billing/ }).first().getByRole("link").click();
    await expect.poll(() => owner.getByRole("heading", { name: "Usage" }).count()).toBe(1);
    await expect.poll(() => owner.locator("figure.usage").count()).toBe(1);
    expect(await owner.locator(".page-head").innerText()).toContain(`${rotatedKey.slice(0, 12)}…${rotatedKey.slice(-4)}`);
    // The verification just made, in words a person reads without a legend.
    const verification = owner.getByRole("region", { name: "Recent verifications" }).getByRole("row").nth(1);
    expect(await verification.innerText()).toMatch(/Admitted 200[\s\S]*GET \/hello[\s\S]*x-api-key header/);
    await check(owner, "4-key-detail");

    await owner.getByRole("button", { name: "Revoke" }).click();
    const confirm = owner.getByRole("dialog", { name: "Revoke key" });
    expect(await confirm.innerText()).toContain(KEY_NAME);
    await confirm.getByRole("button", { name: "Revoke" }).click();
    await expect.poll(() => owner.locator(".page-head h1 .badge").innerText()).toBe("revoked");
    expect(await useKey(rotatedKey)).toBe("revoked_key");
  });

  it("shows a key revoked during its rotation grace as revoked, with no expiry still to come", async () => {
    const old = await kg.admin.createKey({ tenant_id: tenantId, name: "revoked in grace" });
    expect((await api(`/keys/${old.id}/rotate`, kg.adminToken, { method: "POST", body: JSON.stringify({ grace_seconds: 3600 }) })).status).toBe(201);
    await kg.admin.revokeKey(old.id);
    await owner.goto(`${kg.url}/_keygate/console#/keys/${old.id}`);
    const settings = owner.locator(".settings");
    await expect.poll(() => settings.innerText()).toContain("Revoked");
    expect(await settings.innerText()).not.toMatch(/Expires|grace/i);
    await check(owner, "4-key-revoked");
  });

  it("deleting a key used in the last 7 days asks for its name", async () => {
    await owner.goto(`${kg.url}/_keygate/console#/tenants/${tenantId}`);
    await owner.getByRole("row", { name: /billing/ }).filter({ hasText: "active" }).getByRole("button", { name: "Delete" }).click();
    const confirm = owner.getByRole("dialog", { name: "Delete key" });
    await confirm.getByLabel(/Type ".*" to confirm/).fill("billing");
    await confirm.getByRole("button", { name: "Delete" }).click();
    await expect.poll(() => confirm.getByRole("alert").innerText()).toContain("exactly");
    expect(await useKey(firstKey)).toBe("ok"); // not deleted on a wrong name
    await confirm.getByLabel(/Type ".*" to confirm/).fill(KEY_NAME);
    await confirm.getByRole("button", { name: "Delete" }).click();
    await expect.poll(() => confirm.count()).toBe(0);
    expect(await useKey(firstKey)).toBe("invalid_key");
  });

  it("shows a tenant's quota as a bar, and sets, lowers and removes it", async () => {
    const plans = await kg.admin.createTenant("Umbrella plans");
    await owner.goto(`${kg.url}/_keygate/console#/tenants/${plans.id}`);
    const quota = owner.getByRole("region", { name: "Quota" });
    await expect.poll(() => quota.getByText("No quota").count()).toBe(2);
    await quota.getByRole("button", { name: "Set live quota" }).click();
    const set = owner.getByRole("dialog", { name: "Set the live quota" });
    // The plan's bounds are the form's: a quota of 0 is not sent.
    await set.getByLabel("Units per period").fill("0");
    expect(await set.getByLabel("Units per period").evaluate((input: HTMLInputElement) => input.checkValidity())).toBe(false);
    await set.getByLabel("Units per period").fill("5");
    await set.getByLabel("On day of month").fill("15");
    await check(owner, "5-quota-dialog");
    await set.getByRole("button", { name: "Save quota" }).click();
    await expect.poll(() => quota.getByText(/0 of 5 used · monthly from day 15 · resets/).count()).toBe(1);

    const key = (await kg.admin.createKey({ tenant_id: plans.id, name: "metered" })).key;
    expect([await useKey(key), await useKey(key)]).toEqual(["ok", "ok"]);
    await owner.reload();
    const bar = quota.getByRole("meter", { name: "Live keys" });
    await expect.poll(() => bar.getAttribute("max")).toBe("5");
    expect(Number(await bar.getAttribute("value"))).toBeGreaterThanOrEqual(2);
    await check(owner, "5-quota");

    await quota.getByRole("button", { name: "Change live quota" }).click();
    const lower = owner.getByRole("dialog", { name: "Change the live quota" });
    await lower.getByLabel("Units per period").fill("2");
    await lower.getByRole("button", { name: "Save quota" }).click();
    await expect.poll(() => quota.getByText(/2 of 2 used/).count()).toBe(1);
    expect(await useKey(key)).toBe("quota_exceeded");

    await quota.getByRole("button", { name: "Remove live quota" }).click();
    await owner.getByRole("dialog", { name: "Remove live quota" }).getByRole("button", { name: "Remove" }).click();
    await expect.poll(() => quota.getByText("No quota").count()).toBe(2);
    expect(await useKey(key)).toBe("ok");
  });

  it("creates a key with two windows and credits, shows them on its page, and edits them", async () => {
    const plans = await kg.admin.createTenant("Umbrella windows");
    await owner.goto(`${kg.url}/_keygate/console#/tenants/${plans.id}`);
    await owner.getByRole("button", { name: "Create key" }).click();
    const create = owner.getByRole("dialog", { name: "Create a key" });
    await create.getByLabel("Name", { exact: true }).fill("metered");
    for (const [name, limit, seconds] of [["burst", "20", "1"], ["sustained", "10000", "3600"]]) {
      await create.getByRole("button", { name: "Add a window" }).click();
      await create.getByLabel("Window name").last().fill(name!);
      await create.getByLabel("Requests").last().fill(limit!);
      await create.getByLabel("Per seconds").last().fill(seconds!);
    }
    await create.getByLabel("Credits left").fill("3");
    await create.getByLabel("Refill", { exact: true }).selectOption("month");
    await create.getByLabel("Refill to").fill("100");
    await check(owner, "6-create-key-plan");
    await create.getByRole("button", { name: "Create key" }).click();
    const reveal = owner.getByRole("dialog", { name: "Your new API key" });
    const key = await reveal.getByLabel(/API key/).inputValue();
    await reveal.getByRole("button", { name: "Done, I have copied it" }).click();
    expect(await useKey(key)).toBe("ok");

    await owner.getByRole("row", { name: /metered/ }).getByRole("link").click();
    const settings = owner.locator(".settings");
    await expect.poll(() => settings.innerText()).toContain("burst 20 per 1 s, sustained 10,000 per 3,600 s");
    expect(await settings.innerText()).toMatch(/Credits\s+2 left, set to 100 every month on day 1/);
    await check(owner, "6-key-plan");

    await owner.getByRole("button", { name: "Edit limits" }).click();
    const edit = owner.getByRole("dialog", { name: "Edit limits" });
    await edit.getByLabel("Credits left").fill("1");
    await edit.getByRole("button", { name: "Remove window 1" }).click();
    await edit.getByRole("button", { name: "Save" }).click();
    await expect.poll(() => settings.innerText()).toMatch(/Credits\s+1 left/);
    expect(await settings.innerText()).toMatch(/Rate limits\s+sustained 10,000 per 3,600 s\n/);
    expect([await useKey(key), await useKey(key)]).toEqual(["ok", "usage_exceeded"]);
  });

  it("suspends a tenant after saying what happens to its keys", async () => {
    const key = (await kg.admin.createKey({ tenant_id: tenantId, name: "still here" })).key;
    await owner.goto(`${kg.url}/_keygate/console#/tenants`);
    await owner.getByRole("row", { name: /Acme/ }).getByRole("button", { name: "Suspend" }).click();
    const confirm = owner.getByRole("dialog", { name: "Suspend tenant" });
    expect(await confirm.innerText()).toContain("Every one of its keys is refused");
    await confirm.getByRole("button", { name: "Suspend" }).click();
    await expect.poll(() => owner.getByRole("row", { name: /Acme/ }).getByText("suspended").count()).toBe(1);
    expect(await useKey(key)).toBe("tenant_inactive");
    await check(owner, "1-tenants");
  });

  it("shows the audit trail newest first, filtered by action", async () => {
    await owner.getByRole("link", { name: "Audit trail" }).click();
    await owner.getByLabel("Action").fill("key.revoked");
    await owner.getByRole("button", { name: "Filter" }).click();
    await expect.poll(() => owner.getByRole("row").count()).toBe(3); // the header and the two revocations
    await owner.getByLabel("Action").fill("");
    await owner.getByRole("button", { name: "Filter" }).click();
    await expect.poll(() => owner.getByRole("row").nth(1).innerText()).toContain("tenant.suspended");
    // Actors by email, not ids; details as labelled fields, not JSON.
    const actors = await owner.locator("td[data-label=Actor]").allInnerTexts();
    expect(actors).toContain("owner@example.com");
    expect(actors.join("\n")).not.toMatch(/adm_/);
    const rotated = owner.getByRole("row").filter({ hasText: "key.rotated" });
    expect(await rotated.last().locator("td[data-label=Details]").innerText()).toMatch(/Grace\s+60 s/);
    expect(await owner.locator("td[data-label=Details]").allInnerTexts()).not.toContainEqual(expect.stringContaining("{"));
    await check(owner, "5-audit");
  });

  it("opens on an overview: requests across tenants, busiest keys, refusals, failed sign-ins, keys expiring soon", async () => {
    const expiring = await kg.admin.createKey({ tenant_id: tenantId, name: "expires soon", expires_at: new Date(Date.now() + 2 * 86_400_000).toISOString() });
    await owner.getByRole("link", { name: "Overview" }).click();
    const soon = owner.getByRole("region", { name: "Expiring within 7 days" });
    await expect.poll(() => soon.getByRole("row", { name: /expires soon/ }).count()).toBe(1);
    expect(await soon.getByRole("link", { name: "expires soon" }).getAttribute("href")).toBe(`#/keys/${expiring.id}`);
    for (const tile of ["Requests", "Admitted", "Rate limited (429)", "Other refusals"]) expect(await owner.locator(".tile", { hasText: tile }).count()).toBeGreaterThan(0);
    expect(await owner.getByRole("region", { name: "Failed sign-ins" }).getByRole("row", { name: /owner@example\.com/ }).count()).toBe(1);
    // Keys that do not exist are counted per address: the lookup asks the API for one.
    await owner.getByLabel("Client address").fill("198.51.100.99");
    await owner.getByRole("button", { name: "Look up" }).click();
    await expect.poll(() => owner.getByText("No failed attempts from 198.51.100.99 in the last 7 days.").count()).toBe(1);
    await check(owner, "0-overview");
  });

  it("an owner invites an admin, changes their role and removes them; the last owner stays", async () => {
    const rootList = async () => ((await (await api("/admins", kg.adminToken)).json()) as { data: { email: string; role: string }[] }).data;
    await owner.getByRole("link", { name: "Admins" }).click();
    const invite = owner.getByRole("form", { name: "Invite an admin" });
    await invite.getByLabel("Email").fill("new-admin@example.com");
    await invite.getByLabel("First password").fill("a long first password");
    await invite.getByLabel("Role").selectOption("admin");
    await invite.getByRole("button", { name: "Invite" }).click();
    const row = owner.getByRole("row", { name: /new-admin@example\.com/ });
    await expect.poll(() => row.count()).toBe(1);
    expect((await rootList()).find((a) => a.email === "new-admin@example.com")?.role).toBe("admin");

    await row.getByLabel("Role of new-admin@example.com").selectOption("viewer");
    await expect.poll(async () => (await rootList()).find((a) => a.email === "new-admin@example.com")?.role).toBe("viewer");
    await owner.getByRole("row", { name: /new-admin@example\.com/ }).getByRole("button", { name: "Remove" }).click();
    await owner.getByRole("dialog", { name: "Remove admin" }).getByRole("button", { name: "Remove" }).click();
    await expect.poll(() => owner.getByRole("row", { name: /new-admin@example\.com/ }).count()).toBe(0);

    // The API keeps the last owner; the console says why, in the dialog that asked.
    await owner.getByRole("row", { name: /owner@example\.com/ }).getByRole("button", { name: "Remove" }).click();
    const confirm = owner.getByRole("dialog", { name: "Remove admin" });
    await confirm.getByRole("button", { name: "Remove" }).click();
    await expect.poll(() => confirm.getByRole("alert").innerText()).toContain("last owner");
    await confirm.getByRole("button", { name: "Cancel" }).click();
    expect((await rootList()).some((a) => a.email === OWNER.email)).toBe(true);
    await check(owner, "6-admins");
  });

  it("shows who is signed in on the account page", async () => {
    await owner.getByRole("link", { name: "Account" }).click();
    await expect.poll(() => owner.locator(".settings").innerText()).toContain(OWNER.email);
    await check(owner, "7-account");
  });

  it("a viewer sees no create, rotate or revoke button, and the API refuses them anyway", async () => {
    const { page, context } = await newPage();
    await signIn(page, VIEWER);
    expect(await page.getByRole("button", { name: "Create tenant" }).count()).toBe(0);
    expect(await page.getByRole("link", { name: "Admins" }).count()).toBe(0);
    await kg.admin.createKey({ tenant_id: tenantId, name: "viewer can see" });
    await page.goto(`${kg.url}/_keygate/console#/tenants/${tenantId}`);
    await expect.poll(() => page.getByRole("row", { name: /viewer can see/ }).count()).toBe(1);
    for (const name of ["Create key", "Rotate", "Revoke", "Delete"]) expect(await page.getByRole("button", { name }).count()).toBe(0);

    const token = (await sessionToken(page))!;
    const create = await api("/keys", token, { method: "POST", body: JSON.stringify({ tenant_id: tenantId }) });
    expect(create.status).toBe(403);
    expect((await create.json()).error.code).toBe("insufficient_permissions");
    await context.close();
  });

  it("refreshes its token before the hour is up, and a session past 24 hours returns to sign-in", async () => {
    const { page, context } = await newPage();
    await page.clock.install();
    await signIn(page, OWNER);
    // 56 minutes later (the page's clock only): the page asks for a new token on its own.
    const refreshed = page.waitForResponse((res) => res.url().endsWith("/sessions/refresh"));
    await page.clock.runFor("56:00");
    expect((await refreshed).status()).toBe(200);

    // The session's 24 hours are up (its row says so): the next refresh is refused, with the reason.
    const sid = JSON.parse(Buffer.from((await sessionToken(page))!.split(".")[1]!, "base64url").toString()).sid;
    const state = { persistTo: join(kg.dir, "state") } as Parameters<typeof queryLocalD1>[0];
    await queryLocalD1(state, `UPDATE admin_sessions SET expires_at = 0 WHERE id = '${sid}'`);
    const refused = page.waitForResponse((res) => res.url().endsWith("/sessions/refresh"));
    await page.clock.runFor("56:00");
    expect((await refused).status()).toBe(401);
    await expect.poll(() => page.getByRole("status").innerText()).toContain("24-hour limit");
    expect(await page.getByRole("button", { name: "Sign in" }).count()).toBe(1);
    await context.close();
  });

  it("refuses cross-site calls to the session routes, and a cookie is no credential for the API", async () => {
    const { page, context } = await newPage();
    await signIn(page, OWNER);
    const [cookie] = await context.cookies();
    const jar = `keygate_session=${cookie!.value}`;
    const refresh = (headers: Record<string, string>) =>
      fetch(`${kg.url}/_keygate/v1/sessions/refresh`, { method: "POST", headers: { cookie: jar, ...headers } });
    const refusals = [
      await refresh({}), // no CSRF header: what a cross-site form or image could send
      await refresh({ "x-keygate-csrf": "1", origin: "https://evil.example" }),
      await refresh({ "x-keygate-csrf": "1", "sec-fetch-site": "cross-site" }),
      await refresh({ "x-keygate-csrf": "1", "sec-fetch-site": "same-site" }),
      await fetch(`${kg.url}/_keygate/v1/sessions/current`, { method: "DELETE", headers: { cookie: jar, origin: "https://evil.example", "x-keygate-csrf": "1" } }),
    ];
    for (const res of refusals) {
      expect(res.status).toBe(403);
      expect((await res.json()).error.details.reason).toBe("cross_site");
    }
    // The API's own routes take only a bearer token: the cookie alone is refused.
    const withCookie = await fetch(`${kg.url}/_keygate/v1/tenants`, { method: "POST", headers: { cookie: jar, "content-type": "application/json", origin: kg.url }, body: '{"name":"csrf"}' });
    expect(withCookie.status).toBe(401);
    // Not vacuous: the same cookie from the console's own origin works, and the session survived.
    expect((await refresh({ "x-keygate-csrf": "1", origin: kg.url, "sec-fetch-site": "same-origin" })).status).toBe(200);
    await context.close();
  });

  it("signing out ends the session: the old cookie and the old token are refused", async () => {
    const token = (await sessionToken(owner))!;
    const [cookie] = await owner.context().cookies();
    expect((await api("/tenants", token)).status).toBe(200);
    await owner.getByRole("button", { name: "Sign out" }).click();
    await expect.poll(() => owner.getByRole("button", { name: "Sign in" }).count()).toBe(1);
    expect(await owner.context().cookies()).toEqual([]);
    expect((await api("/tenants", token)).status).toBe(401);
    const replay = await fetch(`${kg.url}/_keygate/v1/sessions/refresh`, {
      method: "POST",
      headers: { cookie: `keygate_session=${cookie!.value}`, "x-keygate-csrf": "1" },
    });
    expect(replay.status).toBe(401);
  });

  it("every console response carries the CSP and frame headers", async () => {
    for (const path of ["/_keygate/", "/_keygate/console", "/_keygate/console/console.js", "/_keygate/console/console.css", "/_keygate/console/missing.js"]) {
      const res = await fetch(`${kg.url}${path}`, { redirect: "manual" });
      consoleResponses.push({ url: path, headers: Object.fromEntries(res.headers) });
    }
    expect(consoleResponses.length).toBeGreaterThan(10);
    for (const { url, headers } of consoleResponses) {
      const csp = headers["content-security-policy"] ?? "";
      expect(csp, url).toContain("default-src 'self'");
      expect(csp, url).toContain("script-src 'self'");
      expect(csp, url).not.toContain("unsafe-inline");
      expect(csp, url).toContain("frame-ancestors 'none'");
      expect(headers["x-frame-options"], url).toBe("DENY");
    }
  });
});
