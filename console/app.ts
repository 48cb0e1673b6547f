import { api, ApiError, currentAdmin, query, refresh, signIn, signOut, whenSignedOut } from "./api";
import { confirmDialog, dialog, errorText, field, h, select, show, showError, when } from "./dom";
import { usageChart } from "./chart";
import { oauthClientPage, oauthClientsPage, type Layout } from "./oauth-clients";
import { ENVIRONMENTS } from "../src/authority/key";
import { ADMIN_ROLES, roleGrants, type Access } from "../src/authority/roles";
import { DEFAULT_SCOPES, SELF_SERVICE_SCOPE } from "../src/authority/scopes";
import { KEY_STATES } from "../src/authority/status";
import { MAX_LIMIT, MAX_WINDOW_SECONDS } from "../src/authority/window";

/**
 * The keygate console: a single page routed by the URL's #fragment. Every read and change is an
 * admin API call with the signed-in admin's token, so the console can do exactly what the API
 * lets that admin do; buttons the role cannot use are not shown.
 */
interface Tenant { id: string; name: string; status: "active" | "suspended"; created_at: string }
interface Key {
  id: string; tenant_id: string; name: string | null; description: string | null; environment: "live" | "test"; display: string;
  scopes: string[]; status: string; expires_at: string | null; rate_limit: { limit: number; window_seconds: number };
  created_at: string; revoked_at: string | null; rotated_from: string | null; rotated_to: string | null; last_used_at?: string | null;
}
interface NewKey extends Key { key: string }
interface Page<T> { data: T[]; has_more: boolean; next_cursor: string | null }
interface Usage { requests: number; rate_limited: number; last_used_at: string | null }

const app = document.getElementById("app")!;
const main = h("main", { id: "main", tabindex: "-1" });
const nav = h("nav", { "aria-label": "Console" });

/** What the signed-in admin's role grants (authority/roles.ts), so the console offers only that. */
const may = (access: Access) => {
  const role = currentAdmin()?.role;
  return role !== undefined && roleGrants(role, access);
};
const canRead = () => may("read");
const canWrite = () => may("write");
const isOwner = () => may("admins");
/** A vocabulary word as a menu shows it: "expired" → "Expired". */
const capitalized = (word: string) => word.charAt(0).toUpperCase() + word.slice(1);

const DAY_MS = 86_400_000;
/** Scopes offered as checkboxes when keygate cannot list its own; any other scope is typed in. */
const FALLBACK_SCOPES = { object: "scopes", configured: [], defaults: [...DEFAULT_SCOPES], self_service: SELF_SERVICE_SCOPE };
interface ScopeCatalog { configured: string[]; defaults: string[]; self_service: string }
const GRACE_PRESETS: [string, string][] = [["0", "Now"], ["60", "1 minute"], ["900", "15 minutes"], ["3600", "1 hour"], ["86400", "24 hours"]];

// ── Sign-in ───────────────────────────────────────────────────────────────────────────────────

function signInPage(message = ""): void {
  show(nav);
  const email = h("input", { type: "email", name: "email", autocomplete: "username", required: true });
  const password = h("input", { type: "password", name: "password", autocomplete: "current-password", required: true });
  const error = h("p", { class: "error", role: "alert" });
  const form = h(
    "form",
    { class: "card signin", "aria-labelledby": "signin-title" },
    h("h1", { id: "signin-title" }, "Sign in to keygate"),
    message ? h("p", { class: "notice", role: "status" }, message) : null,
    field("Email", email),
    field("Password", password),
    error,
    h("button", { type: "submit" }, "Sign in"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    show(error);
    try {
      await signIn(email.value, password.value);
      password.value = "";
      route();
    } catch (e) {
      showError(form, error, e);
    }
  });
  show(main, form);
  email.focus();
}

// ── Layout ────────────────────────────────────────────────────────────────────────────────────

function navigation(): void {
  const link = (href: string, label: string) => h("a", { href, "aria-current": location.hash.startsWith(href) ? "page" : null }, label);
  const me = currentAdmin()!;
  show(
    nav,
    h("span", { class: "brand" }, "keygate"),
    canRead() && link("#/tenants", "Tenants"),
    canRead() && link("#/oauth-clients", "OAuth clients"),
    canRead() && link("#/audit", "Audit trail"),
    isOwner() && link("#/admins", "Admins"),
    link("#/account", "Account"),
    h("a", { href: "/_keygate/docs", target: "_blank", rel: "noopener" }, "API docs"),
    h("span", { class: "role" }, `Role: ${me.role}`),
    h("button", { type: "button", onclick: () => void signOut() }, "Sign out"),
  );
}

/** A page's heading and body; errors loading it are shown in its place. */
async function page(title: string, build: () => Promise<Node[]>): Promise<void> {
  navigation();
  document.title = `${title} · keygate`;
  show(main, h("h1", {}, title), h("p", { role: "status" }, "Loading…"));
  try {
    show(main, h("h1", {}, title), ...(await build()));
  } catch (e) {
    show(main, h("h1", {}, title), h("p", { class: "error", role: "alert" }, errorText(e)));
  }
}

/** Previous/next buttons over cursors; `load` renders the page for a cursor. */
function pager(result: Page<unknown>, cursors: (string | undefined)[], load: (cursors: (string | undefined)[]) => void): HTMLElement {
  return h(
    "div",
    { class: "pager" },
    h("button", { type: "button", disabled: cursors.length <= 1, onclick: () => load(cursors.slice(0, -1)) }, "Previous page"),
    h("button", { type: "button", disabled: !result.next_cursor, onclick: () => load([...cursors, result.next_cursor!]) }, "Next page"),
  );
}

function statusBadge(status: string): HTMLElement {
  return h("span", { class: `badge ${status}` }, status);
}

function table(headers: string[], rows: (Node | string)[][], caption: string): HTMLElement {
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      {},
      h("caption", { class: "sr-only" }, caption),
      h("thead", {}, h("tr", {}, ...headers.map((name) => h("th", { scope: "col" }, name)))),
      h("tbody", {}, ...rows.map((cells) => h("tr", {}, ...cells.map((cell, i) => h("td", { "data-label": headers[i] }, cell))))),
    ),
  );
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
      when(tenant.created_at),
      canWrite() ? tenantStatusButton(tenant, () => tenantsPage(cursors)) : "",
    ]);
    return [
      canWrite() ? createTenantForm() : h("span"),
      result.data.length ? table(["Name", "Status", "Keys", "Created", "Actions"], rows, "Tenants") : h("p", {}, "No tenants yet."),
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
    { type: "button", class: suspend ? "danger" : "", onclick: () => confirmDialog(suspend ? "Suspend tenant" : "Reactivate tenant", message, suspend ? "Suspend" : "Reactivate", async () => {
      await api("PATCH", `/tenants/${tenant.id}`, { status: suspend ? "suspended" : "active" });
      done();
    }) },
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
      h("a", { href: `#/keys/${key.id}` }, key.name ?? "(no name)"),
      h("code", {}, key.display),
      key.environment,
      key.scopes.join(", "),
      statusBadge(key.status),
      when(key.expires_at),
      `${key.rate_limit.limit} / ${key.rate_limit.window_seconds} s`,
      when(key.created_at),
      when(used[i]),
      keyActions(key, used[i] ?? null, reload),
    ]);
    return [
      h("p", {}, "Tenant ", h("strong", {}, tenant.name), " ", statusBadge(tenant.status), " ", h("code", {}, tenant.id)),
      h("div", { class: "toolbar" }, canWrite() ? h("button", { type: "button", onclick: () => void createKeyDialog(tenantId, reload) }, "Create key") : null, filterForm),
      result.data.length
        ? table(["Name", "Key", "Environment", "Scopes", "Status", "Expires", "Rate limit", "Created", "Last used", "Actions"], rows, `Keys of ${tenant.name}`)
        : h("p", {}, "No keys match."),
      pager(result, cursors, (next) => keysPage(tenantId, filters, next)),
    ];
  });
}

function keyLabel(key: Key): string {
  return key.name ?? key.display;
}

function keyActions(key: Key, lastUsedAt: string | null, done: () => void): HTMLElement {
  const live = key.status === "active";
  const buttons = h("div", { class: "row-actions" });
  if (!canWrite()) return buttons;
  if (live && !key.rotated_to) buttons.append(h("button", { type: "button", onclick: () => rotateDialog(key, done) }, "Rotate"));
  if (key.status !== "revoked" && key.status !== "deleted")
    buttons.append(
      h("button", { type: "button", class: "danger", onclick: () => confirmDialog("Revoke key", `Revoke "${keyLabel(key)}" (${key.display})? The very next request with it is refused, everywhere. This cannot be undone.`, "Revoke", async () => {
        await api("POST", `/keys/${key.id}/revoke`);
        done();
      }) }, "Revoke"),
    );
  if (key.status !== "deleted") {
    const recent = lastUsedAt !== null && Date.now() - Date.parse(lastUsedAt) < 7 * DAY_MS;
    buttons.append(
      h("button", { type: "button", class: "danger", onclick: () => confirmDialog(
        "Delete key",
        `Delete "${keyLabel(key)}" (${key.display})? It stops working at once and leaves the list.${recent ? " It was used in the last 7 days." : ""}`,
        "Delete",
        async () => {
          await api("DELETE", `/keys/${key.id}`);
          done();
        },
        recent ? keyLabel(key) : undefined,
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
    field(`API key "${keyLabel(created)}"`, value),
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
      h("button", { type: "button", onclick: () => box.close() }, "Done, I have copied it"),
    ),
    copied,
  );
  box.addEventListener("close", () => {
    value.value = "";
    plaintext = null;
  });
  value.select();
}

async function createKeyDialog(tenantId: string, done: () => void): Promise<void> {
  // The scopes this keygate's ROUTE_SCOPES and defaults ask for, to pick from.
  const catalog = await api<ScopeCatalog>("GET", "/scopes").catch(() => FALLBACK_SCOPES);
  const offered = [...new Set([...catalog.defaults, ...catalog.configured, catalog.self_service])];
  const name = h("input", { type: "text", name: "name", maxlength: 200, required: true });
  const description = h("textarea", { name: "description", maxlength: 1000, rows: 2 });
  const environment = select("environment", ENVIRONMENTS.map((env) => [env, env]));
  const checks = offered.map((scope) => h("input", { type: "checkbox", name: "scope", value: scope, checked: catalog.defaults.includes(scope) }));
  const otherScopes = h("input", { type: "text", name: "scopes", placeholder: "write:servers, billing" });
  const expires = h("input", { type: "datetime-local", name: "expires_at" });
  const limit = h("input", { type: "number", name: "rate_limit.limit", min: 1, max: MAX_LIMIT, inputmode: "numeric" });
  const windowSeconds = h("input", { type: "number", name: "rate_limit.window_seconds", min: 1, max: MAX_WINDOW_SECONDS, inputmode: "numeric" });
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
      ...checks.map((box) => h("label", { class: "check" }, box, ` ${box.value}`)),
      field("Other scopes (comma-separated)", otherScopes),
    ),
    field("Expires (optional, your local time)", expires),
    h("fieldset", {}, h("legend", {}, "Rate limit (optional: keygate's default)"), field("Requests", limit), field("per seconds", windowSeconds)),
    error,
    h("div", { class: "actions" }, h("button", { type: "button", onclick: () => box.close() }, "Cancel"), h("button", { type: "submit" }, "Create key")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const scopes = [...checks.filter((c) => c.checked).map((c) => c.value), ...otherScopes.value.split(",").map((s) => s.trim()).filter(Boolean)];
    const body: Record<string, unknown> = { tenant_id: tenantId, name: name.value, environment: environment.value, scopes };
    if (description.value) body.description = description.value;
    if (expires.value) body.expires_at = new Date(expires.value).toISOString();
    if (limit.value || windowSeconds.value) body.rate_limit = { limit: Number(limit.value), window_seconds: Number(windowSeconds.value || 60) };
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
    h("p", {}, `Rotate "${keyLabel(key)}" (${key.display}): a new key with the same settings replaces it. The old key keeps working for the grace period, then ends.`),
    field("Old key keeps working for", grace),
    error,
    h("div", { class: "actions" }, h("button", { type: "button", onclick: () => box.close() }, "Cancel"), h("button", { type: "submit" }, "Rotate")),
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

function keyPage(id: string, granularity: "hour" | "day" = "hour"): Promise<void> {
  const reload = () => keyPage(id, granularity);
  return page("Key", async () => {
    const key = await api<Key>("GET", `/keys/${id}`);
    document.title = `${keyLabel(key)} · keygate`;
    const usage = await api<Usage>("GET", `/keys/${id}/usage`);
    const settings = h(
      "dl",
      { class: "settings" },
      ...([
        ["Name", key.name ?? "(no name)"],
        ["Key", h("code", {}, key.display)],
        ["Id", h("code", {}, key.id)],
        ["Tenant", h("a", { href: `#/tenants/${key.tenant_id}` }, key.tenant_id)],
        ["Description", key.description ?? "—"],
        ["Environment", key.environment],
        ["Scopes", key.scopes.join(", ")],
        ["Status", statusBadge(key.status)],
        ["Expires", when(key.expires_at)],
        ["Rate limit", `${key.rate_limit.limit} requests per ${key.rate_limit.window_seconds} s`],
        ["Created", when(key.created_at)],
        ["Last used", when(usage.last_used_at ?? key.last_used_at)],
        ["Replaced", key.rotated_from ? h("a", { href: `#/keys/${key.rotated_from}` }, key.rotated_from) : "—"],
        ["Replaced by", key.rotated_to ? h("a", { href: `#/keys/${key.rotated_to}` }, key.rotated_to) : "—"],
      ] as [string, Node | string][]).flatMap(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]),
    );
    const granularityPicker = select("granularity", [["hour", "Hours (last 48)"], ["day", "Days (last 30)"]], granularity);
    granularityPicker.addEventListener("change", () => void keyPage(id, granularityPicker.value as "hour" | "day"));
    return [
      settings,
      keyActions(key, usage.last_used_at ?? key.last_used_at ?? null, reload),
      h("section", { "aria-labelledby": "usage-title" }, h("h2", { id: "usage-title" }, "Usage"), field("Show", granularityPicker), await usageSection(id, granularity, usage)),
      h("section", { "aria-labelledby": "events-title" }, h("h2", { id: "events-title" }, "Recent verifications"), await eventsSection(id)),
    ];
  });
}

/** The usage issue's series when this keygate has it; the totals otherwise. */
async function usageSection(id: string, granularity: "hour" | "day", totals: Usage): Promise<Node> {
  const span = granularity === "hour" ? 48 * 3600_000 : 30 * DAY_MS;
  const to = new Date();
  const from = new Date(to.getTime() - span);
  try {
    const series = await api<Record<string, unknown>>("GET", `/keys/${id}/usage${query({ from: from.toISOString(), to: to.toISOString(), granularity })}`);
    const points = (Array.isArray(series.series) ? series.series : Object.values(series).find(Array.isArray)) as Record<string, unknown>[] | undefined;
    if (points) return usageChart(points, granularity);
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 400) throw e;
  }
  return usageChart([{ label: "Admitted", requests: totals.requests }, { label: "Refused (429)", requests: totals.rate_limited }], "totals");
}

async function eventsSection(id: string): Promise<Node> {
  try {
    const events = await api<Page<Record<string, unknown>>>("GET", `/keys/${id}/events${query({ limit: 20 })}`);
    if (!events.data.length) return h("p", {}, "No verifications recorded yet.");
    const text = (v: unknown) => (v === null || v === undefined ? "—" : typeof v === "object" ? JSON.stringify(v) : String(v));
    const columns = [...new Set(events.data.flatMap((event) => Object.keys(event)))].filter((k) => k !== "object" && k !== "key_id");
    return table(columns, events.data.map((event) => columns.map((c) => document.createTextNode(/_at$/.test(c) ? when(String(event[c])) : text(event[c])))), "Recent verifications");
  } catch (e) {
    if (e instanceof ApiError && e.status === 404 && e.message === "No such admin route.") {
      return h("p", {}, "This keygate does not record verification events yet; the totals above count every request.");
    }
    throw e;
  }
}

// ── Audit trail ───────────────────────────────────────────────────────────────────────────────

interface AuditFilters { actor_id: string; action: string; resource_id: string }

function auditPage(filters: AuditFilters = { actor_id: "", action: "", resource_id: "" }, cursors: (string | undefined)[] = [undefined]): Promise<void> {
  return page("Audit trail", async () => {
    const result = await api<Page<Record<string, any>>>("GET", `/audit-events${query({ ...filters, cursor: cursors.at(-1), limit: 20 })}`);
    const actor = h("input", { type: "text", name: "actor_id", value: filters.actor_id, placeholder: "adm_…, root, key_… or an address" });
    const action = h("input", { type: "text", name: "action", value: filters.action, placeholder: "key.revoked" });
    const resource = h("input", { type: "text", name: "resource_id", value: filters.resource_id, placeholder: "key_…, ten_…, adm_…" });
    const form = h("form", { class: "filters", "aria-label": "Filter the audit trail" }, field("Actor", actor), field("Action", action), field("Resource", resource), h("button", { type: "submit" }, "Filter"));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      void auditPage({ actor_id: actor.value.trim(), action: action.value.trim(), resource_id: resource.value.trim() });
    });
    const rows = result.data.map((event) => [
      when(event.created_at),
      h("code", {}, event.action),
      `${event.actor.type} ${event.actor.id}`,
      `${event.resource.type} ${event.resource.id}`,
      event.details ? JSON.stringify(event.details) : "—",
      h("code", {}, event.request_id),
    ]);
    return [
      form,
      result.data.length ? table(["When", "Action", "Actor", "Resource", "Details", "Request"], rows, "Audit events, newest first") : h("p", {}, "No events match."),
      pager(result, cursors, (next) => auditPage(filters, next)),
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
        when(admin.created_at),
        when(admin.last_signin_at),
        h("button", { type: "button", class: "danger", onclick: () => confirmDialog("Remove admin", `Remove ${admin.email}? They are signed out at once and cannot sign in again.`, "Remove", async () => {
          await api("DELETE", `/admins/${admin.id}`);
          reload();
        }) }, "Remove"),
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
    return [h("p", {}, `Signed in as ${currentAdmin()!.id}, role ${currentAdmin()!.role}.`), form];
  });
}

// ── Routing ───────────────────────────────────────────────────────────────────────────────────

/** What pages kept in files of their own (oauth-clients.ts) draw with. */
const layout: Layout = { page, table, pager, statusBadge, canWrite };

function route(): void {
  if (!currentAdmin()) return signInPage();
  const [, section, id] = location.hash.split("/");
  if (!canRead() && section !== "account") {
    navigation();
    show(main, h("h1", {}, "Nothing to manage"), h("p", {}, `The role ${currentAdmin()!.role} may only verify keys; the console has nothing for it but your account.`));
    return;
  }
  if (section === "tenants" && id) void keysPage(id);
  else if (section === "keys" && id) void keyPage(id);
  else if (section === "oauth-clients") void (id ? oauthClientPage(layout, id) : oauthClientsPage(layout));
  else if (section === "audit") void auditPage();
  else if (section === "admins" && isOwner()) void adminsPage();
  else if (section === "account") void accountPage();
  else if (location.hash !== "#/tenants") location.hash = "#/tenants";
  else void tenantsPage();
}

whenSignedOut((message) => signInPage(message));
window.addEventListener("hashchange", route);
show(app, h("a", { href: "#main", class: "skip" }, "Skip to content"), h("header", {}, nav), main);
// A page load keeps the session: the cookie gets a new token, or the page asks to sign in.
void refresh().then(route, () => signInPage());
