import { api, query } from "./api";
import { field, h, show, showError } from "./dom";
import { usageChart, type UsagePoint } from "./chart";
import { count, keyName, outcome, time } from "./format";
import { empty, page, table } from "./layout";

/**
 * The first page after sign-in: what happened across every tenant in the last 24 hours (GET
 * /overview), and the keys that are about to stop working.
 */
interface NamedKey { key_id: string; name: string | null; display: string; tenant_id: string; tenant_name: string }
interface Overview {
  from: string; to: string; series: UsagePoint[]; totals: UsagePoint;
  busiest_keys: (NamedKey & { admitted: number; rate_limited: number; refused: number })[];
  refusals: (NamedKey & { code: string; count: number })[];
  expiring_keys: (NamedKey & { expires_at: string; rotated_to: string | null })[];
  failed_signins: { created_at: string; actor: { id: string }; resource: { id: string }; action: string; details: Record<string, unknown> | null }[];
}
interface FailedAttempts { ip: string; data: { at: string; code: string; path: string | null; key: string | null }[] }

/** A key by name, with the tenant it belongs to beneath. */
function keyCell(key: NamedKey): HTMLElement {
  return h(
    "span",
    { class: "stack" },
    h("a", { href: `#/keys/${key.key_id}` }, keyName(key)),
    h("span", { class: "muted" }, h("a", { href: `#/tenants/${key.tenant_id}`, class: "quiet" }, key.tenant_name), key.name ? " · " : null, key.name ? h("code", {}, key.display) : null),
  );
}

function tile(labelText: string, value: number, className = ""): HTMLElement {
  return h("div", { class: `tile ${className}` }, h("span", { class: "tile-label" }, labelText), h("strong", { class: "tile-value" }, count(value)));
}

function panel(title: string, id: string, ...body: (Node | null)[]): HTMLElement {
  return h("section", { class: "panel", "aria-labelledby": id }, h("h2", { id }, title), ...body);
}

/** Failures from one client address: where attempts with keys that do not exist are counted. */
function addressLookup(): HTMLElement {
  const ip = h("input", { type: "text", name: "ip", required: true, inputmode: "text", autocomplete: "off", placeholder: "203.0.113.7" });
  const error = h("p", { class: "error", role: "alert" });
  const out = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "filters", "aria-label": "Look up an address" }, field("Client address", ip), h("button", { type: "submit", class: "secondary" }, "Look up"), error);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    show(error);
    try {
      const found = await api<FailedAttempts>("GET", `/failed-attempts${query({ ip: ip.value.trim(), limit: 10 })}`);
      show(
        out,
        found.data.length
          ? table(["Time", "Result", "Key", "Path"], found.data.map((f) => [time(f.at), outcome(f.code), f.key ? h("code", {}, f.key) : "—", f.path ? h("code", { class: "wrap" }, f.path) : "—"]), `Failed attempts from ${found.ip}`)
          : empty(`No failed attempts from ${found.ip} in the last 7 days.`),
      );
    } catch (e) {
      showError(form, error, e);
      show(out);
    }
  });
  return h("div", { class: "lookup" }, h("p", { class: "muted" }, "Attempts with keys that do not exist reach no key's records; they are counted per client address."), form, out);
}

export function overviewPage(): Promise<void> {
  return page("Overview", async () => {
    const view = await api<Overview>("GET", "/overview");
    const other = Object.values(view.totals.refused).reduce((a, b) => a + b, 0);
    const head = h(
      "div",
      { class: "page-head" },
      h("h1", {}, "Overview"),
      h("p", { class: "muted" }, "All tenants, the last 24 hours (UTC) · ", h("button", { type: "button", class: "link", onclick: () => void overviewPage() }, "Refresh")),
    );
    return [
      head,
      h(
        "div",
        { class: "tiles" },
        tile("Requests", view.totals.admitted + view.totals.rate_limited + other),
        tile("Admitted", view.totals.admitted, "ok"),
        tile("Rate limited (429)", view.totals.rate_limited, "limited"),
        tile("Other refusals", other, "refused"),
      ),
      h("section", { class: "panel", "aria-label": "Requests by hour" }, usageChart(view.series, "hour", "Requests, last 24 hours")),
      h(
        "div",
        { class: "panels" },
        panel(
          "Busiest keys",
          "busiest-title",
          view.busiest_keys.length
            ? table(["Key", "Admitted", "Rate limited", "Refused"], view.busiest_keys.map((k) => [keyCell(k), count(k.admitted), count(k.rate_limited), count(k.refused)]), "Busiest keys, last 24 hours", "numbers")
            : empty("No requests in the last 24 hours.", "Counts arrive from each key within a minute of its use."),
        ),
        panel(
          "Refused requests",
          "refusals-title",
          view.refusals.length
            ? table(["Key", "Reason", "Requests"], view.refusals.map((r) => [keyCell(r), outcome(r.code), count(r.count)]), "Refused requests by key and reason, last 24 hours", "numbers")
            : empty("No key was refused in the last 24 hours."),
          addressLookup(),
        ),
        panel(
          "Expiring within 7 days",
          "expiring-title",
          view.expiring_keys.length
            ? table(["Key", "Expires"], view.expiring_keys.map((k) => [keyCell(k), h("span", { class: "stack" }, time(k.expires_at), k.rotated_to ? h("span", { class: "muted" }, "rotated: grace ends") : null)]), "Keys expiring within 7 days, soonest first")
            : empty("No key expires in the next 7 days."),
        ),
        panel(
          "Failed sign-ins",
          "signins-title",
          view.failed_signins.length
            ? table(
                ["When", "Email", "Reason"],
                view.failed_signins.map((e) => [
                  time(e.created_at),
                  h("span", { class: "stack" }, h("span", { class: "wrap" }, e.resource.id), h("span", { class: "muted" }, "from ", h("code", {}, e.actor.id))),
                  e.action === "signin.throttled" ? "Throttled" : String(e.details?.reason ?? "failed").replace(/_/g, " "),
                ]),
                "Failed sign-ins, last 24 hours, newest first",
              )
            : empty("No failed sign-ins in the last 24 hours."),
        ),
      ),
    ];
  });
}
