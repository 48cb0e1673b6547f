import { api, ApiError, currentAdmin, mustEnrol, query, refresh, signIn, whenEnrolmentRequired, whenSignedOut, whenStepUpNeeded } from "./api";
import { auditPage, namesFor } from "./audit";
import { confirmDialog, dialog, dialogActions, field, h, select, show, showError } from "./dom";
import { usageChart, type UsagePoint } from "./chart";
import { eventsSection } from "./events";
import { capitalized, keyName, time } from "./format";
import { breadcrumbs, canRead, canWrite, empty, isOwner, main, nav, navigation, page, pager, signedOutHeader, statusBadge, table, type Page } from "./layout";
import { accountSections, secondStepCard, signInAlternatives, ssoReturn, stepUpDialog, type PendingSignin } from "./identity";
import { oauthClientPage, oauthClientsPage } from "./oauth-clients";
import { overviewPage } from "./overview";
import { creditsEditor, creditsText, limitsDialog, quotaPanel, windowsEditor, windowsText, type Credits, type Quota, type RateWindow } from "./plans";
import { ENVIRONMENTS } from "../src/authority/key";
import { ADMIN_ROLES } from "../src/authority/roles";
import { DEFAULT_SCOPES, SELF_SERVICE_SCOPE } from "../src/authority/scopes";
import { KEY_STATES } from "../src/authority/status";

/**
 * The keygate console: a single page routed by the URL's #fragment. Every read and change is an
 * admin API call with the signed-in admin's token, so the console can do exactly what the API
 * lets that admin do; buttons the role cannot use are not shown.
 */
interface Tenant { id: string; name: string; status: "active" | "suspended"; quotas: Record<string, Quota | null>; created_at: string }
interface Key {
  id: string; tenant_id: string; name: string | null; description: string | null; environment: "live" | "test"; display: string;
  scopes: string[]; status: string; expires_at: string | null; rate_limits: RateWindow[]; credits: Credits | null;
  created_at: string; revoked_at: string | null; rotated_from: string | null; rotated_to: string | null; last_used_at?: string | null;
}
interface NewKey extends Key { key: string }
interface Usage { requests: number; rate_limited: number; last_used_at: string | null; series: UsagePoint[] }

const app = document.getElementById("app")!;

const DAY_MS = 86_400_000;
/** Scopes offered as checkboxes when keygate cannot list its own; any other scope is typed in. */
const FALLBACK_SCOPES = { object: "scopes", configured: [], defaults: [...DEFAULT_SCOPES], self_service: SELF_SERVICE_SCOPE };
/** What a new key starts with in the form: least privilege; more is one click away. */
const STARTING_SCOPES = ["read"];
interface ScopeCatalog { configured: string[]; defaults: string[]; self_service: string }
const GRACE_PRESETS: [string, string][] = [["0", "Now"], ["60", "1 minute"], ["900", "15 minutes"], ["3600", "1 hour"], ["86400", "24 hours"]];

// ── Sign-in ───────────────────────────────────────────────────────────────────────────────────

function signInPage(message = ""): void {
  signedOutHeader();
  document.title = "Sign in · keygate";
  const email = h("input", { type: "email", name: "email", autocomplete: "username webauthn", required: true });
  const password = h("input", { type: "password", name: "password", autocomplete: "current-password", required: true });
  const error = h("p", { class: "error", role: "alert" });
  const notice = h("p", { class: "notice", role: "status", hidden: !message }, message);
  const passwordPart = h("div", {}, field("Email", email), field("Password", password), error, h("button", { type: "submit" }, "Sign in"));
  const signedIn = () => {
    password.value = "";
    route();
  };
  const form = h("form", { class: "card signin", "aria-labelledby": "signin-title" }, h("h1", { id: "signin-title" }, "Sign in to keygate"), notice, passwordPart);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    show(error);
    try {
      await signIn({ email: email.value, password: password.value });
      signedIn();
    } catch (e) {
      // An account with a second factor: the second step replaces the form.
      if (e instanceof ApiError && e.code === "mfa_required") return secondStep(e.details as PendingSignin);
      showError(form, error, e);
    }
  });
  show(main, form);
  void signInAlternatives((note) => {
    passwordPart.remove();
    show(notice, [message, note].filter(Boolean).join(" "));
    notice.hidden = false;
  }, signedIn).then((more) => more && form.append(more));
  email.focus();
}

/** The sign-in's second step (after a password, or single sign-on), then on to `returnTo`. */
function secondStep(pending: PendingSignin, returnTo?: string): void {
  signedOutHeader();
  document.title = "Second step · keygate";
  show(main, secondStepCard(pending, () => {
    if (returnTo) location.hash = returnTo.slice(returnTo.indexOf("#"));
    route();
  }));
}

// ── Tenants ───────────────────────────────────────────────────────────────────────────────────

/** How many keys (not deleted) a tenant has: counted from the key list, up to one page of 100. */
async function keyCount(tenantId: string): Promise<string> {
  const page = await api<Page<Key>>("GET", `/keys${query({ tenant_id: tenantId, limit: 100 })}`);
  return page.has_more ? "100+" : String(page.data.length);
}

function tenantsPage(cursors: (string | undefined)[] = [undefined]): Promise<void> {
  return page("Tenants", async () => {
    const result = await api<Page<Tenant>>("GET", `/tenants${query({ cursor: cursors.at(-1), limit: 20 })}`);
    const counts = await Promise.all(result.data.map((t) => keyCount(t.id).catch(() => "?")));
    const rows = result.data.map((tenant, i) => [
      h("a", { href: `#/tenants/${tenant.id}` }, tenant.name),
      statusBadge(tenant.status),
      counts[i]!,
      time(tenant.created_at),
      ...(canWrite() ? [h("div", { class: "row-actions" }, tenantStatusButton(tenant, () => tenantsPage(cursors)))] : []),
    ]);
    const headers = ["Name", "Status", "Keys", "Created", ...(canWrite() ? ["Actions"] : [])];
    return [
      canWrite() ? createTenantForm() : null,
      result.data.length
        ? table(headers, rows, "Tenants")
        : empty("No tenants yet.", canWrite() ? "A tenant is a customer of your API: create one above, then give it keys." : "An admin creates tenants; they will be listed here."),
      pager(result, cursors, tenantsPage),
    ];
  });
}

function createTenantForm(): HTMLElement {
  const name = h("input", { type: "text", name: "name", required: true, maxlength: 200 });
  const error = h("p", { class: "error", role: "alert" });
  const form = h("form", { class: "inline card", "aria-label": "Create a tenant" }, field("New tenant name", name), h("button", { type: "submit" }, "Create tenant"), error);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const tenant = await api<Tenant>("POST", "/tenants", { name: name.value });
      location.hash = `#/tenants/${tenant.id}`;
    } catch (e) {
      showError(form, error, e);
    }
  });
  return form;
}

function tenantStatusButton(tenant: Tenant, done: () => void): HTMLElement {
  const suspend = tenant.status === "active";
  const message = suspend
    ? `Suspend "${tenant.name}"? Every one of its keys is refused (401 tenant_inactive) from its next request, everywhere, until you reactivate the tenant. The keys are kept, not revoked.`
    : `Reactivate "${tenant.name}"? Its keys that are not revoked or expired work again from their next request.`;
  return h(
    "button",
    { type: "button", class: suspend ? "danger" : "secondary", onclick: () => confirmDialog(suspend ? "Suspend tenant" : "Reactivate tenant", message, suspend ? "Suspend" : "Reactivate", async () => {
      await api("PATCH", `/tenants/${tenant.id}`, { status: suspend ? "suspended" : "active" });
      done();
    }, undefined, suspend) },
    suspend ? "Suspend" : "Reactivate",
  );
}

// ── Keys of a tenant ──────────────────────────────────────────────────────────────────────────

interface KeyFilters { status: string; environment: string }

/**
 * When the key was last used, exactly: its own usage (from the key's object) rather than the
 * list's `last_used_at`, which trails it by up to a minute, because deleting a key used in the
 * last 7 days asks for its name and a fresh use must count.
 */
async function lastUsed(key: Key): Promise<string | null> {
  const exact = await api<Usage>("GET", `/keys/${key.id}/usage`).then((usage) => usage.last_used_at, () => undefined);
  return exact ?? key.last_used_at ?? null;
}

function keysPage(tenantId: string, filters: KeyFilters = { status: "", environment: "" }, cursors: (string | undefined)[] = [undefined]): Promise<void> {
  const reload = () => keysPage(tenantId, filters, cursors);
  return page("Keys", async () => {
    const [tenant, result] = await Promise.all([
      api<Tenant>("GET", `/tenants/${tenantId}`),
      api<Page<Key>>("GET", `/keys${query({ tenant_id: tenantId, ...filters, cursor: cursors.at(-1), limit: 20 })}`),
    ]);
    document.title = `Keys of ${tenant.name} · keygate`;
    const used = await Promise.all(result.data.map((key) => lastUsed(key).catch(() => null)));
    const status = select("status", [["", "All but deleted"], ...KEY_STATES.map((state): [string, string] => [state, capitalized(state)])], filters.status);
    const environment = select("environment", [["", "Both"], ...ENVIRONMENTS.map((env): [string, string] => [env, capitalized(env)])], filters.environment);
    const filterForm = h("form", { class: "filters", "aria-label": "Filter keys" }, field("Status", status), field("Environment", environment), h("button", { type: "submit" }, "Filter"));
    filterForm.addEventListener("submit", (event) => {
      event.preventDefault();
      void keysPage(tenantId, { status: status.value, environment: environment.value });
    });
    const rows = result.data.map((key, i) => [
      h("span", { class: "stack" }, h("a", { href: `#/keys/${key.id}` }, key.name ?? "(no name)"), h("code", { class: "muted" }, key.display)),
      key.environment,
      key.scopes.join(", ") || "none",
      statusBadge(key.status),
      expiry(key),
      windowsText(key.rate_limits),
      time(used[i]),
      ...(canWrite() ? [keyActions(key, used[i] ?? null, reload)] : []),
    ]);
    const filtered = Boolean(filters.status || filters.environment);
    return [
      h(
        "div",
        { class: "page-head" },
        breadcrumbs(["Tenants", "#/tenants"], [tenant.name, null]),
        h("h1", {}, tenant.name, " ", statusBadge(tenant.status)),
        h("p", { class: "muted" }, "Tenant ", h("code", {}, tenant.id), ` · created `, time(tenant.created_at)),
      ),
      quotaPanel(tenant, reload),
      h("h2", {}, "Keys"),
      h("div", { class: "toolbar" }, canWrite() ? h("button", { type: "button", onclick: () => void createKeyDialog(tenantId, reload) }, "Create key") : null, filterForm),
      result.data.length
        ? table(["Key", "Environment", "Scopes", "Status", "Expires", "Rate limits", "Last used", ...(canWrite() ? ["Actions"] : [])], rows, `Keys of ${tenant.name}`, "keys")
        : empty(filtered ? "No keys match these filters." : "This tenant has no keys yet.", filtered ? undefined : canWrite() ? "Create one: it is shown once, then only its display form." : undefined),
      pager(result, cursors, (next) => keysPage(tenantId, filters, next)),
    ];
  });
}

/**
 * When the key stops working, as far as that is still to come: a revoked or deleted key shows no
 * expiry (it has ended already), a rotated key's expiry is the end of its grace.
 */
function expiry(key: Key): HTMLElement | string {
  if (key.status === "revoked" || key.status === "deleted") return "—";
  if (!key.expires_at) return "Never";
  if (key.rotated_to && key.status === "active") return h("span", { class: "stack" }, time(key.expires_at), h("span", { class: "muted" }, "end of rotation grace"));
  return time(key.expires_at);
}

function keyActions(key: Key, lastUsedAt: string | null, done: () => void): HTMLElement {
  const live = key.status === "active";
  const buttons = h("div", { class: "row-actions" });
  if (!canWrite()) return buttons;
  if (live && !key.rotated_to) buttons.append(h("button", { type: "button", class: "secondary", onclick: () => rotateDialog(key, done) }, "Rotate"));
  if (key.status !== "revoked" && key.status !== "deleted")
    buttons.append(
      h("button", { type: "button", class: "danger", onclick: () => confirmDialog("Revoke key", `Revoke "${keyName(key)}" (${key.display})? The very next request with it is refused, everywhere. This cannot be undone.`, "Revoke", async () => {
        await api("POST", `/keys/${key.id}/revoke`);
        done();
      }) }, "Revoke"),
    );
  if (key.status !== "deleted") {
    const recent = lastUsedAt !== null && Date.now() - Date.parse(lastUsedAt) < 7 * DAY_MS;
    buttons.append(
      h("button", { type: "button", class: "danger", onclick: () => confirmDialog(
        "Delete key",
        `Delete "${keyName(key)}" (${key.display})? It stops working at once and leaves the list.${recent ? " It was used in the last 7 days." : ""}`,
        "Delete",
        async () => {
          await api("DELETE", `/keys/${key.id}`);
          done();
        },
        recent ? keyName(key) : undefined,
      ) }, "Delete"),
    );
  }
  return buttons;
}

/** The one time a key is shown. Closing the dialog removes it (and the key) from the page. */
function revealKey(title: string, created: NewKey, extra?: string): void {
  let plaintext: string | null = created.key;
  const value = h("input", { type: "text", readonly: true, value: plaintext, class: "secret", "aria-describedby": "reveal-warning" });
  const copied = h("span", { role: "status", class: "hint" });
  const box = dialog(
    title,
    h("p", { id: "reveal-warning", class: "warning" }, "Copy this key now. It is shown only once: keygate keeps only its hash and cannot show it again."),
    extra ? h("p", {}, extra) : null,
    field(`API key "${keyName(created)}"`, value),
    h(
      "div",
      { class: "actions" },
      h("button", { type: "button", onclick: async () => {
        value.select();
        try {
          await navigator.clipboard.writeText(plaintext ?? "");
          show(copied, "Copied.");
        } catch {
          show(copied, "Copy it from the field above (selected).");
        }
      } }, "Copy"),
      h("button", { type: "button", class: "secondary", onclick: () => forget() }, "Done, I have copied it"),
    ),
    copied,
  );
  // Gone from the page the moment the admin is done: the dialog's close event comes a task later.
  const forget = () => {
    value.value = "";
    plaintext = null;
    box.close();
    box.remove();
  };
  box.addEventListener("close", forget);
  value.select();
}

async function createKeyDialog(tenantId: string, done: () => void): Promise<void> {
  // The scopes this keygate's ROUTE_SCOPES and defaults ask for, to pick from.
  const catalog = await api<ScopeCatalog>("GET", "/scopes").catch(() => FALLBACK_SCOPES);
  const offered = [...new Set([...catalog.defaults, ...catalog.configured, catalog.self_service])];
  const name = h("input", { type: "text", name: "name", maxlength: 200, required: true });
  const description = h("textarea", { name: "description", maxlength: 1000, rows: 2 });
  const environment = select("environment", ENVIRONMENTS.map((env) => [env, env]));
  const checks = offered.map((scope) => h("input", { type: "checkbox", name: "scope", value: scope, checked: STARTING_SCOPES.includes(scope) }));
  const otherScopes = h("input", { type: "text", name: "scopes", placeholder: "write:servers, billing" });
  const expires = h("input", { type: "datetime-local", name: "expires_at" });
  const windows = windowsEditor([], "Rate limits (optional: keygate's default)");
  const credits = creditsEditor(null, "Credits (optional)");
  const error = h("p", { class: "error", role: "alert" });
  const form = h(
    "form",
    { "aria-label": "New key" },
    field("Name", name),
    field("Description (optional)", description),
    field("Environment", environment),
    h(
      "fieldset",
      {},
      h("legend", {}, "Scopes"),
      h("p", { class: "hint" }, "Give a key only what it needs. Without a route rule, GET, HEAD and OPTIONS need read; other methods need write."),
      ...checks.map((box) => h("label", { class: "check" }, box, ` ${box.value}`)),
      field("Other scopes (comma-separated)", otherScopes),
    ),
    field("Expires (optional, your local time)", expires),
    windows.element,
    credits.element,
    error,
    dialogActions(() => box.close(), "Create key"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const scopes = [...checks.filter((c) => c.checked).map((c) => c.value), ...otherScopes.value.split(",").map((s) => s.trim()).filter(Boolean)];
    const body: Record<string, unknown> = { tenant_id: tenantId, name: name.value, environment: environment.value, scopes };
    if (description.value) body.description = description.value;
    if (expires.value) body.expires_at = new Date(expires.value).toISOString();
    if (windows.value().length > 0) body.rate_limits = windows.value();
    if (credits.value()) body.credits = credits.value();
    try {
      const created = await api<NewKey>("POST", "/keys", body);
      box.close();
      revealKey("Your new API key", created);
      done();
    } catch (e) {
      showError(form, error, e);
    }
  });
  const box = dialog("Create a key", form);
  name.focus();
}

function rotateDialog(key: Key, done: () => void): void {
  const grace = select("grace_seconds", GRACE_PRESETS, "60");
  const error = h("p", { class: "error", role: "alert" });
  const form = h(
    "form",
    { "aria-label": "Rotate key" },
    h("p", {}, `Rotate "${keyName(key)}" (${key.display}): a new key with the same settings replaces it. The old key keeps working for the grace period, then ends.`),
    field("Old key keeps working for", grace),
    error,
    dialogActions(() => box.close(), "Rotate"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const created = await api<NewKey>("POST", `/keys/${key.id}/rotate`, { grace_seconds: Number(grace.value) });
      box.close();
      const label = GRACE_PRESETS.find(([v]) => v === grace.value)![1];
      revealKey("Your rotated API key", created, grace.value === "0" ? "The old key has stopped working." : `The old key keeps working for ${label}.`);
      done();
    } catch (e) {
      showError(form, error, e);
    }
  });
  const box = dialog("Rotate key", form);
  grace.focus();
}

// ── Key detail ────────────────────────────────────────────────────────────────────────────────

/** The settings' row about the key's end: what has happened, or what is still to come. */
function endRow(key: Key): [string, Node | string] {
  if (key.status === "revoked") return ["Revoked", time(key.revoked_at)];
  if (key.status === "expired") return ["Expired", time(key.expires_at)];
  return ["Expires", expiry(key)];
}

function keyPage(id: string, granularity: "hour" | "day" = "hour"): Promise<void> {
  const reload = () => keyPage(id, granularity);
  return page("Key", async () => {
    const span = granularity === "hour" ? 48 * 3600_000 : 30 * DAY_MS;
    const to = Date.now();
    const [key, usage] = await Promise.all([
      api<Key>("GET", `/keys/${id}`),
      api<Usage>("GET", `/keys/${id}/usage${query({ from: new Date(to - span).toISOString(), to: new Date(to).toISOString(), granularity })}`),
    ]);
    const [tenant, names] = await Promise.all([
      api<Tenant>("GET", `/tenants/${key.tenant_id}`).catch(() => null),
      namesFor([key.rotated_from, key.rotated_to].filter((v): v is string => v !== null)),
    ]);
    document.title = `${keyName(key)} · keygate`;
    const linkTo = (other: string) => h("a", { href: `#/keys/${other}` }, names.get(other)?.display ?? other);
    const lastUsedAt = usage.last_used_at ?? key.last_used_at ?? null;
    const rows: [string, Node | string][] = [
      ["Tenant", h("a", { href: `#/tenants/${key.tenant_id}` }, tenant?.name ?? key.tenant_id)],
      ["Environment", key.environment],
      ["Scopes", key.scopes.join(", ") || "none"],
      ["Rate limits", windowsText(key.rate_limits)],
      ["Credits", creditsText(key.credits)],
      ["Created", time(key.created_at)],
      ["Last used", time(lastUsedAt)],
      endRow(key),
      ["Description", key.description ?? "—"],
      ...(key.rotated_from ? [["Replaced", linkTo(key.rotated_from)] as [string, Node]] : []),
      ...(key.rotated_to ? [["Replaced by", linkTo(key.rotated_to)] as [string, Node]] : []),
    ];
    const settings = h("dl", { class: "settings" }, ...rows.map(([term, value]) => h("div", {}, h("dt", {}, term), h("dd", {}, value))));
    const granularityPicker = select("granularity", [["hour", "Hours (last 48)"], ["day", "Days (last 30)"]], granularity);
    granularityPicker.addEventListener("change", () => void keyPage(id, granularityPicker.value as "hour" | "day"));
    const title = granularity === "hour" ? "Requests, last 48 hours" : "Requests, last 30 days";
    return [
      h(
        "div",
        { class: "page-head" },
        breadcrumbs(["Tenants", "#/tenants"], [tenant?.name ?? key.tenant_id, `#/tenants/${key.tenant_id}`], [keyName(key), null]),
        h("h1", {}, keyName(key), " ", statusBadge(key.status)),
        h("p", { class: "muted" }, h("code", {}, key.display), " · ", h("code", {}, key.id)),
        canWrite() ? keyActions(key, lastUsedAt, reload) : null,
        canWrite() && key.status !== "revoked" && key.status !== "deleted"
          ? h("button", { type: "button", class: "secondary", onclick: () => limitsDialog(key, reload) }, "Edit limits")
          : null,
      ),
      settings,
      h(
        "section",
        { "aria-labelledby": "usage-title", class: "panel" },
        h("div", { class: "section-head" }, h("h2", { id: "usage-title" }, "Usage"), field("Show", granularityPicker)),
        usageChart(usage.series, granularity, title),
      ),
      h("section", { "aria-labelledby": "events-title" }, h("h2", { id: "events-title" }, "Recent verifications"), await eventsSection(id)),
    ];
  });
}

// ── Admins and account ────────────────────────────────────────────────────────────────────────

interface Admin { id: string; email: string; role: string; created_at: string; last_signin_at: string | null }
const ROLES = ADMIN_ROLES.map((role): [string, string] => [role, role]);

function adminsPage(cursors: (string | undefined)[] = [undefined]): Promise<void> {
  const reload = () => adminsPage(cursors);
  return page("Admins", async () => {
    const result = await api<Page<Admin>>("GET", `/admins${query({ cursor: cursors.at(-1), limit: 20 })}`);
    const rows = result.data.map((admin) => {
      const role = select("role", ROLES, admin.role);
      role.setAttribute("aria-label", `Role of ${admin.email}`);
      const error = h("span", { class: "error", role: "alert" });
      role.addEventListener("change", async () => {
        show(error);
        try {
          await api("PATCH", `/admins/${admin.id}`, { role: role.value });
          reload();
        } catch (e) {
          showError(null, error, e);
          role.value = admin.role;
        }
      });
      return [
        admin.email,
        h("span", {}, role, error),
        time(admin.created_at),
        time(admin.last_signin_at),
        h("div", { class: "row-actions" }, h("button", { type: "button", class: "secondary", "aria-label": `Reset second factors of ${admin.email}`, onclick: () => confirmDialog("Reset second factors", `Remove every authenticator app, passkey and recovery code of ${admin.email}, and sign them out? Do this for someone who lost them: they sign in with their password and enrol again.`, "Reset", async () => {
          await api("DELETE", `/admins/${admin.id}/second-factors`);
          reload();
        }) }, "Reset second factors"), h("button", { type: "button", class: "danger", onclick: () => confirmDialog("Remove admin", `Remove ${admin.email}? They are signed out at once and cannot sign in again.`, "Remove", async () => {
          await api("DELETE", `/admins/${admin.id}`);
          reload();
        }) }, "Remove")),
      ];
    });
    return [inviteForm(reload), table(["Email", "Role", "Created", "Last sign-in", "Actions"], rows, "Admins"), pager(result, cursors, adminsPage)];
  });
}

function inviteForm(done: () => void): HTMLElement {
  const email = h("input", { type: "email", name: "email", required: true, autocomplete: "off" });
  const password = h("input", { type: "password", name: "password", required: true, minlength: 12, autocomplete: "new-password" });
  const role = select("role", ROLES, "viewer");
  const error = h("p", { class: "error", role: "alert" });
  const form = h(
    "form",
    { class: "inline card", "aria-label": "Invite an admin" },
    field("Email", email),
    field("First password", password, "12 characters or more; give it to them safely, they can change it."),
    field("Role", role),
    h("button", { type: "submit" }, "Invite"),
    error,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api("POST", "/admins", { email: email.value, password: password.value, role: role.value });
      done();
    } catch (e) {
      showError(form, error, e);
    }
  });
  return form;
}

function accountPage(): Promise<void> {
  return page("Account", async () => {
    const current = h("input", { type: "password", name: "current_password", required: true, autocomplete: "current-password" });
    const next = h("input", { type: "password", name: "new_password", required: true, minlength: 12, autocomplete: "new-password" });
    const error = h("p", { class: "error", role: "alert" });
    const form = h(
      "form",
      { class: "card", "aria-label": "Change your password" },
      h("h2", {}, "Change your password"),
      field("Current password", current),
      field("New password", next, "12 characters or more. Changing it signs you out everywhere."),
      error,
      h("button", { type: "submit" }, "Change password"),
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        await api("POST", "/account/password", { current_password: current.value, new_password: next.value });
        signInPage("Your password is changed. Sign in with the new one.");
      } catch (e) {
        showError(form, error, e);
      }
    });
    const me = currentAdmin()!;
    // The verifier role may not read names (namesFor answers none): its id and role are all the page can say then.
    const [names, identity] = await Promise.all([namesFor([me.id]), accountSections(accountPage, () => signInPage("You are signed out everywhere."))]);
    const email = names.get(me.id)?.name;
    const who = h(
      "dl",
      { class: "settings card" },
      email ? h("div", {}, h("dt", {}, "Email"), h("dd", {}, email)) : null,
      h("div", {}, h("dt", {}, "Role"), h("dd", {}, me.role)),
      h("div", {}, h("dt", {}, "Admin id"), h("dd", {}, h("code", {}, me.id))),
    );
    return [h("section", { "aria-label": "Signed in as" }, who), ...identity, form];
  });
}

// ── Routing ───────────────────────────────────────────────────────────────────────────────────

function route(): void {
  if (!currentAdmin()) return signInPage();
  const [, section, id] = location.hash.split("/");
  // A session that may only enrol a second factor (every admin must have one) starts there.
  if (mustEnrol() && section !== "account") {
    location.hash = "#/account";
    return;
  }
  if (!canRead() && section !== "account") {
    navigation();
    show(main, h("h1", {}, "Nothing to manage"), h("p", {}, `The role ${currentAdmin()!.role} may only verify keys; the console has nothing for it but your account.`));
    return;
  }
  if (section === "tenants" && id) void keysPage(id);
  else if (section === "tenants") void tenantsPage();
  else if (section === "keys" && id) void keyPage(id);
  else if (section === "oauth-clients") void (id ? oauthClientPage(id) : oauthClientsPage());
  else if (section === "audit") void auditPage();
  else if (section === "admins" && isOwner()) void adminsPage();
  else if (section === "account") void accountPage();
  else if (location.hash !== "#/overview") location.hash = "#/overview";
  else void overviewPage();
}

whenSignedOut((message) => signInPage(message));
whenStepUpNeeded(stepUpDialog);
whenEnrolmentRequired(() => (location.hash = "#/account"));
window.addEventListener("hashchange", route);
show(app, h("a", { href: "#main", class: "skip" }, "Skip to content"), h("header", {}, nav), main);
// Back from single sign-on: why it failed, or its second step; otherwise a page load keeps the
// session: the cookie gets a new token, or the page asks to sign in.
const sso = ssoReturn();
if (sso && "error" in sso) signInPage(sso.error);
else if (sso) secondStep(sso.pending, sso.returnTo);
else void refresh().then((live) => (live ? route() : signInPage()), () => signInPage());
