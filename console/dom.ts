/**
 * The console builds every element with the DOM API: text goes in as text nodes, never as HTML,
 * so a tenant or key name holding `<script>` is shown, not run (and the CSP would refuse it anyway).
 */
type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === "function") el.addEventListener(name.replace(/^on/, ""), value);
    else if (value === true) el.setAttribute(name, "");
    else el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

function append(el: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
  }
}

/** Replaces what `el` shows. */
export function show(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

let fieldIds = 0;

/** A labelled form field: the label names the control, a hint (if any) describes it. */
export function field(label: string, control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement, hint?: string): HTMLElement {
  const id = control.id || `f${++fieldIds}`;
  control.id = id;
  const hintEl = hint ? h("small", { id: `${id}-hint`, class: "hint" }, hint) : null;
  if (hintEl) control.setAttribute("aria-describedby", hintEl.id);
  return h("div", { class: "field" }, h("label", { for: id }, label), control, hintEl);
}

export function select(name: string, options: [string, string][], value = ""): HTMLSelectElement {
  return h("select", { name }, ...options.map(([v, label]) => h("option", { value: v, selected: v === value }, label)));
}

/** A modal dialog (native <dialog>: focus trapped, Esc closes); removed from the page when closed. */
export function dialog(title: string, ...body: Child[]): HTMLDialogElement {
  const titleId = `dialog-${++fieldIds}`;
  const el = h("dialog", { "aria-labelledby": titleId }, h("h2", { id: titleId }, title), ...body);
  el.addEventListener("close", () => el.remove());
  document.body.appendChild(el);
  el.showModal();
  return el;
}

/**
 * A dialog form's last row: Cancel (which calls `close`), then the submit button named `submit`.
 * `cancelClass` is Cancel's class: "secondary" unless the dialog says otherwise (null for none).
 */
export function dialogActions(close: () => void, submit: string, cancelClass: string | null = "secondary"): HTMLElement {
  return h("div", { class: "actions" }, h("button", { type: "button", class: cancelClass, onclick: close }, "Cancel"), h("button", { type: "submit" }, submit));
}

/**
 * Asks to confirm `what` in a dialog; `typed` makes the admin type that text first. `danger`
 * draws the action in red: what takes something away, not what gives it back.
 */
export function confirmDialog(title: string, message: string, action: string, run: () => Promise<void>, typed?: string, danger = true): void {
  const error = h("p", { class: "error", role: "alert" });
  const input = typed ? h("input", { type: "text", autocomplete: "off", name: "confirm" }) : null;
  const button = h("button", { type: "submit", class: danger ? "danger" : null }, action);
  const form = h(
    "form",
    { method: "dialog" },
    h("p", {}, message),
    input && field(`Type "${typed}" to confirm`, input),
    error,
    h("div", { class: "actions" }, h("button", { type: "button", class: "secondary", value: "cancel", onclick: () => box.close() }, "Cancel"), button),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (input && input.value !== typed) {
      show(error, `Type "${typed}" exactly to confirm.`);
      return;
    }
    button.disabled = true;
    try {
      await run();
      box.close();
    } catch (e) {
      show(error, errorText(e));
      button.disabled = false;
    }
  });
  const box = dialog(title, form);
}

/** A readable message for an API error: the API's own message, with the fields it names. */
export function errorText(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)) + fieldList(fieldsOf(error));
}

type FieldError = { field: string; message: string };
const fieldsOf = (error: unknown): FieldError[] => (error instanceof Error && "fields" in error ? (error as { fields: FieldError[] }).fields : []);
const fieldList = (fields: FieldError[]) => (fields.length ? ` ${fields.map((f) => `${f.field}: ${f.message}`).join("; ")}.` : "");

export function when(iso: string | null | undefined): string {
  if (!iso) return "—";
  const date = new Date(iso);
  return date.toISOString().replace("T", " ").slice(0, 16) + " UTC";
}

/**
 * Shows an API error where it belongs: each field the API names gets its message right after its
 * control (matched by `name`, the API's field path or its first part), marked aria-invalid and
 * described by the message; the rest goes in `summary`.
 */
export function showError(form: HTMLFormElement | null, summary: Element, error: unknown): void {
  for (const control of form?.querySelectorAll<HTMLElement>("[aria-invalid]") ?? []) clearFieldError(control);
  const fields = fieldsOf(error);
  const placed = fields.filter(({ field, message }) => {
    const control = form && controlFor(form, field);
    if (!control) return false;
    const id = `${control.id}-error`;
    control.setAttribute("aria-invalid", "true");
    control.setAttribute("aria-describedby", [control.getAttribute("aria-describedby"), id].filter(Boolean).join(" "));
    control.insertAdjacentElement("afterend", h("small", { id, class: "error field-error" }, message));
    // Once the admin edits the field, its old complaint no longer describes it.
    control.addEventListener("input", () => clearFieldError(control), { once: true });
    return true;
  });
  const others = fields.filter((f) => !placed.includes(f));
  show(summary, (error instanceof Error ? error.message : String(error)) + fieldList(others));
}

/** Takes a field's error message away, and the marks that pointed to it. */
function clearFieldError(control: HTMLElement): void {
  document.getElementById(`${control.id}-error`)?.remove();
  control.removeAttribute("aria-invalid");
  const rest = (control.getAttribute("aria-describedby") ?? "").split(" ").filter((id) => id && !id.endsWith("-error"));
  if (rest.length) control.setAttribute("aria-describedby", rest.join(" "));
  else control.removeAttribute("aria-describedby");
}

function controlFor(form: HTMLFormElement, path: string): HTMLElement | null {
  const parts = path.split(".");
  for (let n = parts.length; n > 0; n--) {
    const control = form.querySelector<HTMLElement>(`[name="${CSS.escape(parts.slice(0, n).join("."))}"]`);
    if (control?.id) return control;
  }
  return null;
}
