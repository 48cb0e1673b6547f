import { api } from "./api";
import { confirmDialog, dialog, dialogActions, field, h, select, showError } from "./dom";
import { capitalized, count, time } from "./format";
import { canWrite } from "./layout";
import { ENVIRONMENTS } from "../src/authority/key";
import { CREDITS_LIMIT_NAME, MAX_ANCHOR_DAY, MAX_CREDITS, MAX_QUOTA, MAX_WINDOWS, PERIODS, QUOTA_LIMIT_NAME } from "../src/authority/plan";
import { MAX_LIMIT, MAX_WINDOW_SECONDS } from "../src/authority/window";

/**
 * Paid plans in the console: a key's windows and credits (shown on its page, set in the create
 * and edit dialogs), a tenant's quota per environment (a bar of what is used, set and removed on
 * the tenant's page). The bounds are authority/plan.ts's; the API checks them again and its
 * refusals are shown next to the field they name.
 */

export interface RateWindow { name: string; limit: number; window_seconds: number }
export interface Credits { remaining: number | null; refill: { amount: number; interval: string; anchor_day?: number } | null; refills_at: string | null }
export interface Quota { limit: number; period: string; anchor_day?: number; used: number | null; remaining: number | null; resets_at: string | null }
export interface PlanKey { id: string; rate_limits: RateWindow[]; credits: Credits | null }
export interface QuotaTenant { id: string; name: string; quotas: Record<string, Quota | null> }

const PERIOD_NAMES: Record<string, string> = { day: "Every day (UTC)", month: "Every month" };

/** "burst 20 per 1 s, sustained 10,000 per 3,600 s". */
export function windowsText(windows: RateWindow[]): string {
  return windows.map((w) => `${w.name} ${count(w.limit)} per ${count(w.window_seconds)} s`).join(", ");
}

/** "3 left, set to 100 every month on day 15 (next …)", or "None". */
export function creditsText(credits: Credits | null): Node | string {
  if (!credits) return "None: requests spend no credits";
  const left = credits.remaining === null ? "—" : `${count(credits.remaining)} left`;
  if (!credits.refill) return `${left}, no refill`;
  return h("span", {}, `${left}, set to ${count(credits.refill.amount)} ${periodText(credits.refill.interval, credits.refill.anchor_day)} (next `, time(credits.refills_at), ")");
}

function periodText(period: string, anchorDay: number | undefined): string {
  return period === "month" ? `every month on day ${anchorDay ?? 1}` : "every day";
}

const numberInput = (name: string, min: number, max: number, value?: number | null) =>
  h("input", { type: "number", name, min, max, inputmode: "numeric", value: value ?? undefined });

/**
 * A key's windows as editable rows (name, requests, per seconds), up to MAX_WINDOWS; none means
 * keygate's default on create. `changed()` tells whether the admin touched them.
 */
export function windowsEditor(initial: RateWindow[], legend: string) {
  const rows = h("div", { class: "window-rows" });
  const add = h("button", { type: "button", class: "secondary" }, "Add a window");
  let touched = false;
  const renumber = () => {
    [...rows.children].forEach((row, i) => {
      for (const input of row.querySelectorAll("input")) input.name = input.name.replace(/^rate_limits\.\d+\./, `rate_limits.${i}.`);
      row.querySelector("button")!.textContent = `Remove window ${i + 1}`;
    });
    add.hidden = rows.children.length >= MAX_WINDOWS;
  };
  const addRow = (window?: RateWindow) => {
    const i = rows.children.length;
    const row = h(
      "div",
      { class: "inline window-row" },
      field("Window name", h("input", { type: "text", name: `rate_limits.${i}.name`, maxlength: 32, placeholder: "burst", value: window?.name, required: true })),
      field("Requests", numberInput(`rate_limits.${i}.limit`, 1, MAX_LIMIT, window?.limit)),
      field("Per seconds", numberInput(`rate_limits.${i}.window_seconds`, 1, MAX_WINDOW_SECONDS, window?.window_seconds)),
      h("button", { type: "button", class: "secondary", onclick: () => {
        row.remove();
        touched = true;
        renumber();
      } }, ""),
    );
    row.addEventListener("input", () => (touched = true));
    rows.append(row);
    renumber();
  };
  add.addEventListener("click", () => {
    addRow();
    touched = true;
    rows.lastElementChild?.querySelector("input")?.focus();
  });
  for (const window of initial) addRow(window);
  renumber();
  const element = h(
    "fieldset",
    {},
    h("legend", {}, legend),
    h("p", { class: "hint" }, `A request is admitted only if every window has room. Up to ${MAX_WINDOWS}, each named (${CREDITS_LIMIT_NAME} and ${QUOTA_LIMIT_NAME} are taken).`),
    rows,
    add,
  );
  const value = (): RateWindow[] =>
    [...rows.children].map((row) => {
      const [name, limit, seconds] = [...row.querySelectorAll("input")].map((input) => input.value);
      return { name: name!.trim(), limit: Number(limit), window_seconds: Number(seconds) };
    });
  return { element, value, changed: () => touched };
}

/** A key's credits: what it has from now and its refill; an empty "Credits left" means none. */
export function creditsEditor(initial: Credits | null, legend: string) {
  const remaining = numberInput("credits.remaining", 0, MAX_CREDITS, initial?.remaining);
  const interval = select("credits.refill.interval", [["", "No refill"], ...PERIODS.map((p): [string, string] => [p, PERIOD_NAMES[p] ?? p])], initial?.refill?.interval ?? "");
  const amount = numberInput("credits.refill.amount", 1, MAX_CREDITS, initial?.refill?.amount);
  const anchor = numberInput("credits.refill.anchor_day", 1, MAX_ANCHOR_DAY, initial?.refill?.anchor_day);
  let touched = false;
  const sync = () => {
    amount.disabled = interval.value === "";
    anchor.disabled = interval.value !== "month";
  };
  interval.addEventListener("change", sync);
  sync();
  const element = h(
    "fieldset",
    { class: "inline" },
    h("legend", {}, legend),
    field("Credits left", remaining, "Each request spends its route's cost. Empty: no credits."),
    field("Refill", interval),
    field("Refill to", amount),
    field("On day of month", anchor),
  );
  element.addEventListener("input", () => (touched = true));
  element.addEventListener("change", () => (touched = true));
  const value = () => {
    if (remaining.value === "") return null;
    const refill = interval.value === "" ? null : { amount: Number(amount.value), interval: interval.value, ...(interval.value === "month" && anchor.value ? { anchor_day: Number(anchor.value) } : {}) };
    return { remaining: Number(remaining.value), refill };
  };
  return { element, value, changed: () => touched };
}

/** Edits a key's windows and credits; only what the admin changed is sent (credits set anew from what is typed). */
export function limitsDialog(key: PlanKey, done: () => void): void {
  const windows = windowsEditor(key.rate_limits, "Rate limits");
  const credits = creditsEditor(key.credits, "Credits");
  const error = h("p", { class: "error", role: "alert" });
  const form = h(
    "form",
    { "aria-label": "Edit limits" },
    windows.element,
    credits.element,
    error,
    dialogActions(() => box.close(), "Save"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body: Record<string, unknown> = {};
    if (windows.changed()) body.rate_limits = windows.value();
    if (credits.changed()) body.credits = credits.value();
    try {
      if (Object.keys(body).length > 0) await api("PATCH", `/keys/${key.id}`, body);
      box.close();
      done();
    } catch (e) {
      showError(form, error, e);
    }
  });
  const box = dialog("Edit limits", form);
}

/** A tenant's quotas: for each environment a bar of what is used, and (for writers) set and remove. */
export function quotaPanel(tenant: QuotaTenant, done: () => void): HTMLElement {
  const rows = ENVIRONMENTS.map((environment) => {
    const quota = tenant.quotas[environment] ?? null;
    const label = `${capitalized(environment)} keys`;
    const actions = canWrite()
      ? h(
          "div",
          { class: "row-actions" },
          h("button", { type: "button", class: "secondary", onclick: () => quotaDialog(tenant, environment, quota, done) }, quota ? `Change ${environment} quota` : `Set ${environment} quota`),
          quota
            ? h("button", { type: "button", class: "danger", onclick: () => confirmDialog(
                `Remove ${environment} quota`,
                `Remove the ${environment} quota of "${tenant.name}"? Its ${environment} keys no longer share a limit, from their next request.`,
                "Remove",
                async () => {
                  await api("PATCH", `/tenants/${tenant.id}`, { quotas: { [environment]: null } });
                  done();
                },
              ) }, `Remove ${environment} quota`)
            : null,
        )
      : null;
    if (!quota) return h("div", { class: "quota" }, h("h3", {}, label), h("p", { class: "muted" }, "No quota: each key is held to its own limits only."), actions);
    const used = quota.used ?? 0;
    const id = `quota-${environment}`;
    return h(
      "div",
      { class: "quota" },
      h("h3", { id }, label),
      h("meter", { min: 0, max: quota.limit, value: Math.min(used, quota.limit), high: quota.limit * 0.9, "aria-labelledby": id, class: "quota-bar" }),
      h("p", {}, `${count(used)} of ${count(quota.limit)} used · ${quota.period === "month" ? `monthly from day ${quota.anchor_day ?? 1}` : "daily"} · resets `, time(quota.resets_at)),
      actions,
    );
  });
  return h(
    "section",
    { class: "panel", "aria-labelledby": "quota-title" },
    h("h2", { id: "quota-title" }, "Quota"),
    h("p", { class: "hint" }, "Cost units the environment's keys spend together; a request over it is refused with 429 quota_exceeded. Units a key holds to spend count as used."),
    ...rows,
  );
}

function quotaDialog(tenant: QuotaTenant, environment: string, quota: Quota | null, done: () => void): void {
  const limit = numberInput(`quotas.${environment}.limit`, 1, MAX_QUOTA, quota?.limit);
  limit.required = true;
  const period = select(`quotas.${environment}.period`, PERIODS.map((p): [string, string] => [p, PERIOD_NAMES[p] ?? p]), quota?.period ?? "month");
  const anchor = numberInput(`quotas.${environment}.anchor_day`, 1, MAX_ANCHOR_DAY, quota?.anchor_day);
  const sync = () => (anchor.disabled = period.value !== "month");
  period.addEventListener("change", sync);
  sync();
  const error = h("p", { class: "error", role: "alert" });
  const form = h(
    "form",
    { "aria-label": `${environment} quota` },
    field("Units per period", limit, "A request spends its route's cost (1 unless ROUTE_COSTS says more)."),
    field("Resets", period),
    field("On day of month", anchor, "Months only; 31 is the last day of shorter months."),
    error,
    dialogActions(() => box.close(), "Save quota"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { limit: Number(limit.value), period: period.value, ...(period.value === "month" && anchor.value ? { anchor_day: Number(anchor.value) } : {}) };
    try {
      await api("PATCH", `/tenants/${tenant.id}`, { quotas: { [environment]: body } });
      box.close();
      done();
    } catch (e) {
      showError(form, error, e);
    }
  });
  const box = dialog(`${quota ? "Change" : "Set"} the ${environment} quota`, form);
  limit.focus();
}
