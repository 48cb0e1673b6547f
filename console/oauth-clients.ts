import { api, query } from "./api";
import { confirmDialog, dialog, field, h, select, showError, when } from "./dom";
import { CLIENT_TYPES } from "../src/authority/oauth";

/**
 * The console's OAuth pages: the apps tenants registered (#/oauth-clients) and one app with its
 * grants (#/oauth-clients/cli_…). The layout (page frame, tables, pager) is the console's own,
 * handed in by app.ts, so these pages look like every other one.
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
interface Page<T> { data: T[]; has_more: boolean; next_cursor: string | null }

/** What app.ts lends these pages. */
export interface Layout {
  page(title: string, build: () => Promise<Node[]>): Promise<void>;
  table(headers: string[], rows: (Node | string)[][], caption: string): HTMLElement;
  pager(result: Page<unknown>, cursors: (string | undefined)[], load: (cursors: (string | undefined)[]) => void): HTMLElement;
  statusBadge(status: string): HTMLElement;
  canWrite(): boolean;
}

export function oauthClientsPage(layout: Layout, cursors: (string | undefined)[] = [undefined]): Promise<void> {
  return layout.page("OAuth clients", async () => {
    const result = await api<Page<Client>>("GET", `/oauth-clients${query({ cursor: cursors.at(-1), limit: 20 })}`);
    const rows = result.data.map((client) => [
      h("a", { href: `#/oauth-clients/${client.id}` }, client.name),
      h("code", {}, client.id),
      client.type,
      client.tenant_id ?? "— (registered itself)",
      client.scopes.join(", "),
      when(client.created_at),
    ]);
    return [
      h("p", { class: "hint" }, "Third-party apps that act for your tenants' users (OAuth 2.1): users approve them on your consent page; each grant is counted and revoked like a key."),
      layout.canWrite() ? h("button", { type: "button", onclick: () => registerDialog(() => oauthClientsPage(layout, cursors)) }, "Register a client") : h("span"),
      result.data.length
        ? layout.table(["Name", "Client id", "Type", "Tenant", "Scopes", "Registered"], rows, "OAuth clients")
        : h("p", {}, "No OAuth clients yet."),
      layout.pager(result, cursors, (next) => oauthClientsPage(layout, next)),
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
    h("div", { class: "actions" }, h("button", { type: "button", onclick: () => box.close() }, "Cancel"), h("button", { type: "submit" }, "Register")),
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

export function oauthClientPage(layout: Layout, id: string, cursors: (string | undefined)[] = [undefined]): Promise<void> {
  return layout.page("OAuth client", async () => {
    const client = await api<Client>("GET", `/oauth-clients/${id}`);
    const grants = await api<Page<Grant>>("GET", `/oauth-grants${query({ client_id: id, cursor: cursors.at(-1), limit: 20 })}`);
    const reload = () => oauthClientPage(layout, id, cursors);
    const rows = grants.data.map((grant) => [
      grant.subject ?? "— (client_credentials)",
      grant.tenant_id,
      grant.scopes.join(", "),
      layout.statusBadge(grant.status),
      when(grant.created_at),
      grant.status === "active" && layout.canWrite() ? revokeButton(grant, reload) : (grant.revoked_reason ?? ""),
    ]);
    return [
      h(
        "dl",
        { class: "settings" },
        ...[
          ["Name", client.name],
          ["Client id", client.id],
          ["Type", client.type],
          ["Tenant", client.tenant_id ?? "— (registered itself)"],
          ["Redirect URIs", client.redirect_uris.join(" ")],
          ["Scopes", client.scopes.join(", ")],
          ["Registered", when(client.created_at)],
        ].flatMap(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]),
      ),
      layout.canWrite() ? clientActions(client) : h("span"),
      h("h2", {}, "Grants"),
      grants.data.length ? layout.table(["User", "Tenant", "Scopes", "Status", "Granted", "Actions"], rows, "Grants") : h("p", {}, "No user has authorized this app yet."),
      layout.pager(grants, cursors, (next) => oauthClientPage(layout, id, next)),
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
