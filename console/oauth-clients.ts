import { api, query } from "./api";
import { confirmDialog, dialog, dialogActions, field, h, select, showError } from "./dom";
import { time } from "./format";
import { breadcrumbs, canWrite, empty, page, pager, statusBadge, table, type Page } from "./layout";
import { CLIENT_TYPES } from "../src/authority/oauth";

/**
 * The console's OAuth pages: the apps tenants registered (#/oauth-clients) and one app with its
 * grants (#/oauth-clients/cli_…), drawn with the console's own layout.
 */
interface Client {
  id: string; client_id: string; tenant_id: string | null; name: string; type: "public" | "confidential";
  redirect_uris: string[]; scopes: string[]; rate_limit: { limit: number; window_seconds: number }; created_at: string;
}
interface NewClient extends Client { client_secret?: string }
interface Grant {
  id: string; tenant_id: string; client_id: string; subject: string | null; scopes: string[]; status: "active" | "revoked";
  revoked_reason: string | null; created_at: string; revoked_at: string | null; last_used_at: string | null;
}
export function oauthClientsPage(cursors: (string | undefined)[] = [undefined]): Promise<void> {
  return page("OAuth clients", async () => {
    const result = await api<Page<Client>>("GET", `/oauth-clients${query({ cursor: cursors.at(-1), limit: 20 })}`);
    const rows = result.data.map((client) => [
      h("a", { href: `#/oauth-clients/${client.id}` }, client.name),
      h("code", {}, client.id),
      client.type,
      client.tenant_id ?? "— (registered itself)",
      client.scopes.join(", "),
      time(client.created_at),
    ]);
    return [
      h("p", { class: "muted" }, "Third-party apps that act for your tenants' users (OAuth 2.1): users approve them on your consent page; each grant is counted and revoked like a key."),
      canWrite() ? h("div", { class: "actions" }, h("button", { type: "button", onclick: () => registerDialog(() => oauthClientsPage(cursors)) }, "Register a client")) : null,
      result.data.length
        ? table(["Name", "Client id", "Type", "Tenant", "Scopes", "Registered"], rows, "OAuth clients")
        : empty("No OAuth clients yet.", "Register one for an app that will act for your users."),
      pager(result, cursors, (next) => oauthClientsPage(next)),
    ];
  });
}

function registerDialog(done: () => void): void {
  const tenant = h("input", { type: "text", name: "tenant_id", required: true, placeholder: "ten_…" });
  const name = h("input", { type: "text", name: "name", required: true, maxlength: 200 });
  const type = select("type", CLIENT_TYPES.map((t) => [t, t === "public" ? "Public (browser or native app)" : "Confidential (a server, with a secret)"]));
  const redirects = h("textarea", { name: "redirect_uris", rows: 2, required: true, placeholder: "https://app.example.com/callback" });
  const scopes = h("input", { type: "text", name: "scopes", required: true, value: "read" });
  const error = h("p", { class: "error", role: "alert" });
  const form = h(
    "form",
    {},
    field("Tenant that owns the app", tenant),
    field("Name (shown to users)", name),
    field("Type", type),
    field("Redirect URIs", redirects, "One per line, matched exactly: https, or http on 127.0.0.1 or localhost."),
    field("Scopes it may be granted", scopes, "Separated by spaces; never * or keys:manage."),
    error,
    dialogActions(() => box.close(), "Register", null),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const created = await api<NewClient>("POST", "/oauth-clients", {
        tenant_id: tenant.value.trim(),
        name: name.value,
        type: type.value,
        redirect_uris: redirects.value.split("\n").map((line) => line.trim()).filter(Boolean),
        scopes: scopes.value.split(/\s+/).filter(Boolean),
      });
      box.close();
      done();
      if (created.client_secret) revealSecret(created);
    } catch (e) {
      showError(form, error, e);
    }
  });
  const box = dialog("Register an OAuth client", form);
}

/** The one time a client secret is shown; closing the dialog removes it from the page. */
function revealSecret(client: NewClient): void {
  const value = h("input", { type: "text", readonly: true, value: client.client_secret!, class: "secret" });
  const box = dialog(
    "Client secret",
    h("p", { class: "warning" }, "Copy this secret now. It is shown only once: keygate keeps only its hash."),
    field(`Client id ${client.id}`, value),
    h("div", { class: "actions" }, h("button", { type: "button", onclick: () => box.close() }, "Done, I have copied it")),
  );
  box.addEventListener("close", () => (value.value = ""));
  value.select();
}

export function oauthClientPage(id: string, cursors: (string | undefined)[] = [undefined]): Promise<void> {
  return page("OAuth client", async () => {
    // Both asked at once; when both fail, the client's error is the one shown (as when asked in
    // turn), not whichever came back first: Promise.all would pick by timing.
    const clientLoaded = api<Client>("GET", `/oauth-clients/${id}`);
    const grantsLoaded = api<Page<Grant>>("GET", `/oauth-grants${query({ client_id: id, cursor: cursors.at(-1), limit: 20 })}`);
    grantsLoaded.catch(() => {}); // reported by its await below, unless the client's failure is first
    const client = await clientLoaded;
    const grants = await grantsLoaded;
    const reload = () => oauthClientPage(id, cursors);
    const grantRows = grants.data.map((grant) => [
      grant.subject ?? "— (client_credentials)",
      grant.tenant_id,
      grant.scopes.join(", "),
      statusBadge(grant.status),
      time(grant.created_at),
      grant.status === "active" && canWrite() ? revokeButton(grant, reload) : (grant.revoked_reason ?? ""),
    ]);
    document.title = `${client.name} · keygate`;
    const rows: [string, Node | string][] = [
      ["Client id", h("code", {}, client.id)],
      ["Type", client.type],
      ["Tenant", client.tenant_id ? h("a", { href: `#/tenants/${client.tenant_id}` }, client.tenant_id) : "— (registered itself)"],
      ["Redirect URIs", client.redirect_uris.join(" ")],
      ["Scopes", client.scopes.join(", ")],
      ["Rate limit per grant", `${client.rate_limit.limit} requests per ${client.rate_limit.window_seconds} s`],
      ["Registered", time(client.created_at)],
    ];
    return [
      h(
        "div",
        { class: "page-head" },
        breadcrumbs(["OAuth clients", "#/oauth-clients"], [client.name, null]),
        h("h1", {}, client.name),
        canWrite() ? clientActions(client) : null,
      ),
      h("dl", { class: "settings" }, ...rows.map(([term, value]) => h("div", {}, h("dt", {}, term), h("dd", {}, value)))),
      h("section", { "aria-labelledby": "grants-title" }, h("h2", { id: "grants-title" }, "Grants")),
      grants.data.length ? table(["User", "Tenant", "Scopes", "Status", "Granted", "Actions"], grantRows, "Grants") : empty("No user has authorized this app yet."),
      pager(grants, cursors, (next) => oauthClientPage(id, next)),
    ];
  });
}

function clientActions(client: Client): HTMLElement {
  const secret =
    client.type === "confidential" &&
    h("button", { type: "button", onclick: () => confirmDialog("New client secret", `Give "${client.name}" a new secret? The current one stops working at once.`, "Make a new secret", async () => {
      revealSecret(await api<NewClient>("POST", `/oauth-clients/${client.id}/secret`));
    }) }, "New secret");
  const remove = h("button", { type: "button", class: "danger", onclick: () => confirmDialog("Delete OAuth client", `Delete "${client.name}"? Every user's grant to it is revoked at once: its tokens are refused from their next request.`, "Delete", async () => {
    // 202 while grants remain: repeated until every grant is revoked.
    while ((await api<{ fanout?: { pending: boolean } } | null>("DELETE", `/oauth-clients/${client.id}`))?.fanout?.pending);
    location.hash = "#/oauth-clients";
  }, client.name) }, "Delete");
  return h("div", { class: "actions" }, secret, remove);
}

function revokeButton(grant: Grant, done: () => void): HTMLElement {
  return h("button", { type: "button", class: "danger", onclick: () => confirmDialog("Revoke grant", `Revoke what ${grant.subject ?? "the client"} let this app do? Its tokens are refused from their next request.`, "Revoke", async () => {
    await api("POST", `/oauth-grants/${grant.id}/revoke`);
    done();
  }) }, "Revoke");
}
