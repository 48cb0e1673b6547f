import { api, query } from "./api";
import { field, h } from "./dom";
import { action, label, time } from "./format";
import { empty, page, pager, table, type Page } from "./layout";

/**
 * The audit trail in words: actors and resources by email or name (GET /names, one call a page),
 * details as labelled fields, times in the console's one format.
 */
interface AuditEvent {
  id: string; action: string; actor: { type: string; id: string }; resource: { type: string; id: string };
  tenant_id: string | null; request_id: string; details: Record<string, unknown> | null; created_at: string;
}
interface Named { id: string; type: "admin" | "tenant" | "api_key"; name: string | null; display: string | null }
type Names = Map<string, Named>;

const ID = /^(adm|ten|key)_[0-9A-Za-z]+$/;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;

/** What each id on the page stands for; ids it cannot name are shown as they are. */
export async function namesFor(ids: Iterable<string>): Promise<Names> {
  const wanted = [...new Set([...ids].filter((id) => ID.test(id)))];
  if (!wanted.length) return new Map();
  const result = await api<{ data: Named[] }>("GET", `/names${query({ ids: wanted.join(",") })}`).catch(() => ({ data: [] }));
  return new Map(result.data.map((row) => [row.id, row]));
}

/** An id as a person knows it, linked to its page where the console has one. */
function named(id: string, names: Names): Node {
  const row = names.get(id);
  if (id.startsWith("ten_")) return h("a", { href: `#/tenants/${id}` }, row?.name ?? id);
  if (id.startsWith("key_")) return h("a", { href: `#/keys/${id}` }, row ? (row.name ?? row.display ?? id) : id);
  return document.createTextNode(row?.name ?? id);
}

function actorCell(event: AuditEvent, names: Names): Node | string {
  switch (event.actor.type) {
    case "root":
      return "Root token";
    case "client":
      return h("span", {}, "Client ", h("code", {}, event.actor.id));
    case "key":
      return h("span", {}, "Key ", named(event.actor.id, names));
    default:
      return named(event.actor.id, names);
  }
}

const RESOURCE_TYPES: Record<string, string> = { tenant: "Tenant", api_key: "Key", admin: "Admin", signin: "Sign-in as" };

function resourceCell(event: AuditEvent, names: Names): Node {
  const { type, id } = event.resource;
  return h("span", {}, h("span", { class: "muted" }, `${RESOURCE_TYPES[type] ?? type} `), type === "signin" ? id : named(id, names));
}

/** A detail's value in words: names for ids, the console's time format, seconds as seconds. */
function detailValue(key: string, value: unknown, names: Names): Node | string {
  if (value === null || value === undefined) return "—";
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (typeof value === "number") return key.endsWith("_seconds") ? `${value} s` : String(value);
  if (typeof value === "string") {
    if (ID.test(value)) return named(value, names);
    if (ISO_TIME.test(value)) return time(value);
    return /^[a-z]+(_[a-z]+)+$/.test(value) ? value.replace(/_/g, " ") : value;
  }
  if (Array.isArray(value)) return value.map(String).join(", ") || "none";
  return h("span", {}, ...Object.entries(value as Record<string, unknown>).flatMap(([k, v], i) => [i ? "; " : "", `${label(k)}: `, detailValue(k, v, names)]));
}

function detailsCell(event: AuditEvent, names: Names): Node {
  // What the actor and resource columns already say (a failed sign-in's email and address) is not repeated.
  const shown = Object.entries(event.details ?? {}).filter(([, v]) => v !== event.actor.id && v !== event.resource.id);
  return h(
    "dl",
    { class: "details" },
    ...shown.flatMap(([key, value]) => [h("dt", {}, label(key)), h("dd", {}, detailValue(key, value, names))]),
    h("dt", {}, "Request"),
    h("dd", {}, h("code", {}, event.request_id)),
  );
}

const idsIn = (event: AuditEvent) => [event.actor.id, event.resource.id, ...Object.values(event.details ?? {}).filter((v): v is string => typeof v === "string")];

interface AuditFilters { actor_id: string; action: string; resource_id: string }

export function auditPage(filters: AuditFilters = { actor_id: "", action: "", resource_id: "" }, cursors: (string | undefined)[] = [undefined]): Promise<void> {
  return page("Audit trail", async () => {
    const result = await api<Page<AuditEvent>>("GET", `/audit-events${query({ ...filters, cursor: cursors.at(-1), limit: 20 })}`);
    const names = await namesFor(result.data.flatMap(idsIn));
    const actor = h("input", { type: "text", name: "actor_id", value: filters.actor_id, placeholder: "adm_…, root, key_… or an address" });
    const act = h("input", { type: "text", name: "action", value: filters.action, placeholder: "key.revoked" });
    const resource = h("input", { type: "text", name: "resource_id", value: filters.resource_id, placeholder: "key_…, ten_…, adm_… or an email" });
    const form = h("form", { class: "filters card", "aria-label": "Filter the audit trail" }, field("Actor id", actor), field("Action", act), field("Resource id", resource), h("button", { type: "submit" }, "Filter"));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      void auditPage({ actor_id: actor.value.trim(), action: act.value.trim(), resource_id: resource.value.trim() });
    });
    const rows = result.data.map((event) => [
      time(event.created_at),
      h("span", { class: "action" }, action(event.action), h("code", { class: "muted" }, event.action)),
      actorCell(event, names),
      resourceCell(event, names),
      detailsCell(event, names),
    ]);
    const filtered = Object.values(filters).some(Boolean);
    return [
      form,
      result.data.length
        ? table(["When", "Action", "Actor", "Resource", "Details"], rows, "Audit events, newest first", "audit")
        : empty(filtered ? "No events match these filters." : "Nothing has been recorded yet.", filtered ? "Clear a filter to see more." : undefined),
      pager(result, cursors, (next) => auditPage(filters, next)),
    ];
  });
}
