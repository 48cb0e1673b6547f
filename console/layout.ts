import { currentAdmin, signOut } from "./api";
import { roleGrants, type Access } from "../src/authority/roles";
import { errorText, h, show } from "./dom";

/** The page's frame: the header's navigation and the main region every page is drawn into. */
export const main = h("main", { id: "main", tabindex: "-1" });
export const nav = h("nav", { "aria-label": "Console" });

export interface Page<T> { data: T[]; has_more: boolean; next_cursor: string | null }

/** What the signed-in admin's role grants (authority/roles.ts), so the console offers only that. */
const may = (access: Access) => {
  const role = currentAdmin()?.role;
  return role !== undefined && roleGrants(role, access);
};
export const canRead = () => may("read");
export const canWrite = () => may("write");
export const isOwner = () => may("admins");

const brand = () => h("a", { class: "brand", href: "#/overview" }, "keygate");

/** The header before sign-in: the product's name and nothing to navigate to. */
export function signedOutHeader(): void {
  show(nav, h("span", { class: "brand" }, "keygate"));
}

export function navigation(): void {
  const section = location.hash.split("/")[1] ?? "";
  const link = (href: string, label: string, sections: string[]) =>
    h("a", { href, "aria-current": sections.includes(section) ? "page" : null }, label);
  const me = currentAdmin()!;
  show(
    nav,
    brand(),
    h(
      "div",
      { class: "links" },
      canRead() && link("#/overview", "Overview", ["overview", ""]),
      canRead() && link("#/tenants", "Tenants", ["tenants", "keys"]),
      canRead() && link("#/oauth-clients", "OAuth clients", ["oauth-clients"]),
      canRead() && link("#/audit", "Audit trail", ["audit"]),
      isOwner() && link("#/admins", "Admins", ["admins"]),
      link("#/account", "Account", ["account"]),
      h("a", { href: "/_keygate/docs", target: "_blank", rel: "noopener" }, "API docs"),
    ),
    h("div", { class: "me" }, h("span", { class: "role" }, `Role: ${me.role}`), h("button", { type: "button", class: "secondary on-dark", onclick: () => void signOut() }, "Sign out")),
  );
}

/** Where a page sits, as links back up: `[label, href]`, the last one the page itself (no link). */
export function breadcrumbs(...trail: [string, string | null][]): HTMLElement {
  return h(
    "nav",
    { class: "crumbs", "aria-label": "Breadcrumb" },
    h("ol", {}, ...trail.map(([label, href]) => h("li", {}, href ? h("a", { href }, label) : h("span", { "aria-current": "page" }, label)))),
  );
}

/**
 * A page: its heading and body; errors loading it are shown in its place. `build` may return a
 * heading of its own (a key's or tenant's name, known only once loaded) as its first node.
 */
export async function page(title: string, build: () => Promise<(Node | null)[]>): Promise<void> {
  navigation();
  document.title = `${title} · keygate`;
  show(main, h("h1", {}, title), h("p", { role: "status", class: "muted" }, "Loading…"));
  try {
    const body = await build();
    const own = body[0] instanceof HTMLElement && (body[0].tagName === "H1" || body[0].classList.contains("page-head"));
    show(main, own ? null : h("h1", {}, title), ...body);
  } catch (e) {
    // A session that ended while loading has already put the sign-in page (and why) in its place.
    if (!currentAdmin()) return;
    show(main, h("h1", {}, title), h("p", { class: "error", role: "alert" }, errorText(e)));
  }
}

/** Previous/next buttons over cursors; `load` renders the page for a cursor. Nothing when there is one page. */
export function pager(result: Page<unknown>, cursors: (string | undefined)[], load: (cursors: (string | undefined)[]) => void): HTMLElement | null {
  if (cursors.length <= 1 && !result.next_cursor) return null;
  return h(
    "div",
    { class: "pager" },
    h("button", { type: "button", class: "secondary", disabled: cursors.length <= 1, onclick: () => load(cursors.slice(0, -1)) }, "Previous page"),
    h("button", { type: "button", class: "secondary", disabled: !result.next_cursor, onclick: () => load([...cursors, result.next_cursor!]) }, "Next page"),
  );
}

export function statusBadge(status: string): HTMLElement {
  return h("span", { class: `badge ${status}` }, status);
}

/** A table whose cells carry their column's name (phones show each row as a labelled card). */
export function table(headers: string[], rows: (Node | string)[][], caption: string, className = ""): HTMLElement {
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: className || null },
      h("caption", { class: "sr-only" }, caption),
      h("thead", {}, h("tr", {}, ...headers.map((name) => h("th", { scope: "col" }, name)))),
      h("tbody", {}, ...rows.map((cells) => h("tr", {}, ...cells.map((cell, i) => h("td", { "data-label": headers[i] }, cell))))),
    ),
  );
}

/** What a list shows when it has nothing: a sentence saying so, and what to do about it. */
export function empty(text: string, hint?: string): HTMLElement {
  return h("div", { class: "empty" }, h("p", {}, text), hint ? h("p", { class: "muted" }, hint) : null);
}
