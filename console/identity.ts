import { startAuthentication, startRegistration } from "@simplewebauthn/browser";
import QRCode from "qrcode";
import { api, ApiError, currentAdmin, signIn, signInPasskeyOptions } from "./api";
import { confirmDialog, dialog, dialogActions, field, h, show, showError } from "./dom";
import { time } from "./format";
import { isOwner, table } from "./layout";

/**
 * How an admin proves who they are, in the console: single sign-on and passkeys beside the password
 * on the sign-in page, the second step (a code or a passkey), the step-up prompt that asks in place
 * and lets the action go on, and the account's second factors, sessions and (for owners) sign-in
 * settings. Every change is an admin API call, as everywhere in the console.
 */

const CONSOLE_PATH = "/_keygate/console";

interface SigninMethods { password: boolean; passkey: boolean; sso: { provider: string; start_url: string } | null }
/** The second step of a sign-in, as 401 mfa_required's details (or single sign-on's return) give it. */
export interface PendingSignin { mfa_token: string; methods: string[]; passkey_options?: Record<string, any> }

/** Why single sign-on did not sign the admin in, by the reason keygate's callback gives. */
const SSO_ERRORS: Record<string, string> = {
  provider_unavailable: "The sign-in provider could not be reached. Try again, or sign in another way.",
  state: "That sign-in was not started here, was used already or took too long. Start it again.",
  provider_refused: "The sign-in provider did not sign you in.",
  code: "The sign-in provider refused the sign-in (it may have been used already). Start it again.",
  token: "The sign-in provider's answer could not be verified, so keygate did not accept it.",
  email_unverified: "The sign-in provider did not confirm your email address.",
  not_allowed: "Your account at the sign-in provider is not an admin of this keygate. Ask an owner to invite you.",
  too_many_attempts: "Too many failed sign-ins from here: try again later.",
};

/**
 * What single sign-on's callback left in the address (`#sso_error=…` or `#mfa_token=…`), read once
 * and removed from the address bar so a reload or the history does not repeat it.
 */
export function ssoReturn(): { error: string } | { pending: PendingSignin; returnTo: string } | null {
  if (!/^#(sso_error|mfa_token)=/.test(location.hash)) return null;
  const params = new URLSearchParams(location.hash.slice(1));
  history.replaceState(null, "", CONSOLE_PATH);
  const error = params.get("sso_error");
  if (error !== null) return { error: SSO_ERRORS[error] ?? "Single sign-on did not sign you in." };
  const returnTo = params.get("return_to") ?? CONSOLE_PATH;
  return {
    pending: { mfa_token: params.get("mfa_token") ?? "", methods: (params.get("methods") ?? "").split(",").filter(Boolean) },
    // Only ever a console page of this origin, as keygate checked it when the sign-in started.
    returnTo: returnTo.startsWith(`${CONSOLE_PATH}#`) ? returnTo : CONSOLE_PATH,
  };
}

/** The ways to sign in besides the password form: "Sign in with <provider>", and a passkey. */
export async function signInAlternatives(hidePassword: (note: string) => void, signedIn: () => void): Promise<HTMLElement | null> {
  const methods = await signinMethods();
  if (!methods) return h("p", { class: "notice" }, "Single sign-on and passkeys could not be offered: keygate did not answer. Reload the page to try again.");
  if (!methods.password) hidePassword("Password sign-in is turned off on this keygate.");
  const error = h("p", { class: "error", role: "alert" });
  const returnTo = `${CONSOLE_PATH}${location.hash.startsWith("#/") ? location.hash : ""}`;
  const passkey = h("button", { type: "button", class: "secondary" }, "Use a passkey");
  passkey.addEventListener("click", async () => {
    show(error);
    try {
      const options = await signInPasskeyOptions();
      await signIn({ passkey: await startAuthentication({ optionsJSON: options as any }) });
      signedIn();
    } catch (e) {
      show(error, passkeyError(e));
    }
  });
  return h(
    "div",
    { class: "signin-alternatives" },
    methods.sso ? h("a", { class: "button", href: `${methods.sso.start_url}?${new URLSearchParams({ return_to: returnTo })}` }, `Sign in with ${methods.sso.provider}`) : null,
    passkey,
    error,
  );
}

/**
 * Which ways to sign in are open, asked again after a network failure or a server error (at most
 * four times in about four seconds): one dropped request must not hide single sign-on.
 */
async function signinMethods(): Promise<SigninMethods | null> {
  for (let attempt = 0; ; attempt++) {
    const res = await fetch("/_keygate/v1/signin-methods").catch(() => null);
    if (res?.ok) return (await res.json()) as SigninMethods;
    const worthRetrying = res === null || res.status >= 500 || res.status === 429;
    if (!worthRetrying || attempt === 3) return null;
    await new Promise((resolve) => setTimeout(resolve, 500 * 2 ** attempt));
  }
}

/** A browser's refusal of a passkey ceremony (cancelled, no passkey) in words; keygate's own errors as they are. */
function passkeyError(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  const name = error instanceof Error ? error.name : "";
  if (name === "NotAllowedError" || name === "AbortError") return "The passkey was not used (cancelled, or none for this site).";
  return error instanceof Error ? error.message : String(error);
}

/**
 * The second step of a sign-in: a code from the authenticator app or a recovery code, or the
 * admin's passkey. `complete` sends the step: the console's session sign-in, or a step-up.
 */
function secondFactorForm(
  label: string,
  methods: string[],
  complete: (step: { code: string } | { passkey: unknown }) => Promise<void>,
  passkeyOptions: () => Promise<Record<string, any>>,
): HTMLFormElement {
  const code = h("input", { type: "text", name: "code", autocomplete: "one-time-code", inputmode: "text", required: true, maxlength: 32 });
  const error = h("p", { class: "error", role: "alert" });
  const usePasskey = methods.includes("passkey")
    ? h("button", { type: "button", class: "secondary", onclick: async () => {
        show(error);
        try {
          await complete({ passkey: await startAuthentication({ optionsJSON: (await passkeyOptions()) as any }) });
        } catch (e) {
          show(error, passkeyError(e));
        }
      } }, "Use your passkey")
    : null;
  const hasCode = methods.some((m) => m === "totp" || m === "recovery_code");
  const form = h(
    "form",
    { "aria-label": label },
    hasCode ? field("Code from your authenticator app, or a recovery code", code) : null,
    error,
    h("div", { class: "actions" }, usePasskey, hasCode ? h("button", { type: "submit" }, "Continue") : null),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    show(error);
    try {
      await complete({ code: code.value.trim() });
    } catch (e) {
      showError(form, error, e);
      code.select();
    }
  });
  queueMicrotask(() => (hasCode ? code : usePasskey)?.focus());
  return form;
}

/** The sign-in's second step as a card of the sign-in page. */
export function secondStepCard(pending: PendingSignin, signedIn: () => void): HTMLElement {
  const form = secondFactorForm(
    "Second step",
    pending.methods,
    async (step) => {
      await signIn({ mfa_token: pending.mfa_token, ...step });
      signedIn();
    },
    async () => pending.passkey_options ?? (await signInPasskeyOptions(pending.mfa_token)),
  );
  return h(
    "div",
    { class: "card signin", "aria-labelledby": "second-step-title" },
    h("h1", { id: "second-step-title" }, "Confirm it is you"),
    h("p", {}, "Your account has a second factor. Give a code from your authenticator app or a recovery code, or use your passkey."),
    form,
  );
}

/**
 * The step-up prompt: a sensitive action was refused because the admin's last sign-in is more
 * than 5 minutes old. Asks for the password, a code or the passkey in place; true once confirmed,
 * and the action is then made again. Single sign-on cannot answer in place: the admin signs in again.
 */
export function stepUpDialog(details: Record<string, any>): Promise<boolean> {
  const methods: string[] = Array.isArray(details.methods) ? details.methods : [];
  return new Promise((resolve) => {
    let confirmed = false;
    const reauthenticate = async (body: Record<string, unknown>) => {
      await api("POST", "/account/reauthenticate", body, false);
      confirmed = true;
      box.close();
    };
    const parts: HTMLElement[] = [h("p", {}, "This change needs you to confirm who you are (your last sign-in was more than 5 minutes ago).")];
    if (methods.includes("password")) {
      const password = h("input", { type: "password", name: "password", autocomplete: "current-password", required: true });
      const error = h("p", { class: "error", role: "alert" });
      const form = h("form", { "aria-label": "Confirm with your password" }, field("Your password", password), error, h("div", { class: "actions" }, h("button", { type: "submit" }, "Confirm")));
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        try {
          await reauthenticate({ password: password.value });
        } catch (e) {
          showError(form, error, e);
        }
      });
      parts.push(form);
    }
    if (methods.some((m) => m === "totp" || m === "recovery_code" || m === "passkey")) {
      parts.push(
        secondFactorForm("Confirm with a second factor", methods, (step) => reauthenticate(step), async () => (await api("POST", "/account/reauthenticate/passkey-options", undefined, false)).options),
      );
    }
    if (methods.includes("sso")) parts.push(h("p", { class: "muted" }, "Signed in with single sign-on? Sign out and sign in again, then repeat the change."));
    parts.push(h("div", { class: "actions" }, h("button", { type: "button", class: "secondary", onclick: () => box.close() }, "Cancel")));
    const box = dialog("Confirm it is you", ...parts);
    box.addEventListener("close", () => resolve(confirmed));
  });
}

// ── Account: second factors, sessions, sign-in settings ──────────────────────────────────────

interface Account {
  email: string;
  has_password: boolean;
  second_factors: { totp: boolean; passkeys: { id: string; name: string; created_at: string; last_used_at: string | null }[]; recovery_codes_left: number };
  session: { enrolment_required: boolean } | null;
}
interface Session { id: string; kind: string; device: string; methods: string[]; created_at: string; last_used_at: string; ip: string | null; current: boolean }

/** Recovery codes, shown once in a dialog to copy or write down. */
function showRecoveryCodes(codes: string[], done: () => void): void {
  const box = dialog(
    "Your recovery codes",
    h("p", {}, "Each code signs you in once if you lose your authenticator or passkey. Keep them somewhere safe: they are not shown again."),
    h("ol", { class: "recovery-codes" }, ...codes.map((code) => h("li", {}, h("code", {}, code)))),
    h("div", { class: "actions" }, h("button", { type: "button", onclick: () => box.close() }, "I have saved them")),
  );
  box.addEventListener("close", done);
}

/** Enrolling an authenticator app: its QR code and secret, confirmed with a code from it. */
async function enrolTotp(done: () => void): Promise<void> {
  const enrolment = await api<{ secret: string; otpauth_uri: string }>("POST", "/account/totp");
  const svg = await QRCode.toString(enrolment.otpauth_uri, { type: "svg", margin: 1, errorCorrectionLevel: "M" });
  const code = h("input", { type: "text", name: "code", autocomplete: "one-time-code", inputmode: "numeric", required: true, maxlength: 8 });
  const error = h("p", { class: "error", role: "alert" });
  const form = h(
    "form",
    { "aria-label": "Confirm the authenticator app" },
    h("p", {}, "Scan this with your authenticator app (or type the secret), then give the code it shows."),
    h("img", { class: "qr", src: `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`, alt: "QR code of the authenticator secret", width: 200, height: 200 }),
    h("p", {}, "Secret: ", h("code", { class: "secret" }, enrolment.secret)),
    field("Code from the app", code),
    error,
    dialogActions(() => box.close(), "Turn on"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const confirmed = await api<{ recovery_codes?: string[] }>("POST", "/account/totp/confirm", { code: code.value.trim() });
      box.close();
      if (confirmed.recovery_codes) showRecoveryCodes(confirmed.recovery_codes, done);
      else done();
    } catch (e) {
      showError(form, error, e);
    }
  });
  const box = dialog("Add an authenticator app", form);
  code.focus();
}

async function addPasskey(name: string, done: () => void, error: Element): Promise<void> {
  show(error);
  try {
    const { options } = await api<{ options: Record<string, any> }>("POST", "/account/passkeys/options");
    const response = await startRegistration({ optionsJSON: options as any });
    const added = await api<{ recovery_codes?: string[] }>("POST", "/account/passkeys", { name: name || "Passkey", response });
    if (added.recovery_codes) showRecoveryCodes(added.recovery_codes, done);
    else done();
  } catch (e) {
    show(error, passkeyError(e));
  }
}

function factorsSection(account: Account, reload: () => void): HTMLElement {
  const { totp, passkeys, recovery_codes_left } = account.second_factors;
  const error = h("p", { class: "error", role: "alert" });
  const passkeyName = h("input", { type: "text", name: "passkey_name", maxlength: 100, placeholder: "e.g. Laptop" });
  const rows = passkeys.map((key) => [
    key.name,
    time(key.created_at),
    time(key.last_used_at),
    h("div", { class: "row-actions" }, h("button", { type: "button", class: "danger", onclick: () => confirmDialog("Remove passkey", `Remove the passkey "${key.name}"? It can no longer sign you in.`, "Remove", async () => {
      await api("DELETE", `/account/passkeys/${encodeURIComponent(key.id)}`);
      reload();
    }) }, "Remove")),
  ]);
  return h(
    "section",
    { class: "card", "aria-labelledby": "factors-title" },
    h("h2", { id: "factors-title" }, "Second factors"),
    account.session?.enrolment_required ? h("p", { class: "notice", role: "status" }, "Every admin of this keygate needs a second factor: add an authenticator app or a passkey to go on.") : null,
    h("h3", {}, "Authenticator app"),
    totp
      ? h("p", {}, "On: sign-ins with your password also ask for a code. ", h("button", { type: "button", class: "danger", onclick: () => confirmDialog("Remove authenticator app", "Turn the authenticator app off? Sign-ins no longer ask for its codes.", "Remove", async () => {
          await api("DELETE", "/account/totp");
          reload();
        }) }, "Remove"))
      : h("p", {}, "Off. ", h("button", { type: "button", onclick: () => void enrolTotp(reload).catch((e) => show(error, passkeyError(e))) }, "Add an authenticator app")),
    h("h3", {}, "Passkeys"),
    rows.length ? table(["Name", "Added", "Last used", "Actions"], rows, "Your passkeys") : h("p", { class: "muted" }, "No passkeys yet."),
    h("div", { class: "inline" }, field("Name for a new passkey", passkeyName), h("button", { type: "button", onclick: () => void addPasskey(passkeyName.value.trim(), reload, error) }, "Add a passkey")),
    h("h3", {}, "Recovery codes"),
    totp || passkeys.length
      ? h("p", {}, `${recovery_codes_left} of 10 left. `, h("button", { type: "button", class: "secondary", onclick: async () => {
          show(error);
          try {
            showRecoveryCodes((await api<{ codes: string[] }>("POST", "/account/recovery-codes")).codes, reload);
          } catch (e) {
            show(error, passkeyError(e));
          }
        } }, "Make new codes"))
      : h("p", { class: "muted" }, "They come with your first second factor."),
    error,
  );
}

function sessionsSection(sessions: Session[], reload: () => void, signedOutEverywhere: () => void): HTMLElement {
  const rows = sessions.map((s) => [
    h("span", {}, s.device, s.current ? h("span", { class: "badge active" }, "this one") : null),
    s.kind === "console" ? "Console" : "API / CLI",
    s.methods.join(" + "),
    time(s.created_at),
    time(s.last_used_at),
    s.ip ?? "—",
    h("div", { class: "row-actions" }, s.current ? null : h("button", { type: "button", class: "danger", "aria-label": `End session on ${s.device}`, onclick: () => confirmDialog("End session", `End the session on ${s.device}? It is signed out, and its tokens stop working at once.`, "End session", async () => {
      await api("DELETE", `/account/sessions/${s.id}`);
      reload();
    }) }, "End session")),
  ]);
  return h(
    "section",
    { class: "card", "aria-labelledby": "sessions-title" },
    h("h2", { id: "sessions-title" }, "Your sessions"),
    table(["Device", "Kind", "Signed in with", "Started", "Last used", "Address", "Actions"], rows, "Your sessions"),
    h("div", { class: "actions" }, h("button", { type: "button", class: "danger", onclick: () => confirmDialog("End all sessions", "Sign out every browser and CLI of yours, this one included?", "End all sessions", async () => {
      await api("DELETE", "/account/sessions");
      signedOutEverywhere();
    }) }, "End all sessions")),
  );
}

async function signinSettingsSection(reload: () => void): Promise<HTMLElement> {
  const settings = await api<{ password_signin: boolean; second_factor_required: boolean }>("GET", "/settings/signin");
  const error = h("p", { class: "error", role: "alert" });
  const toggle = (name: "password_signin" | "second_factor_required", label: string) => {
    const box = h("input", { type: "checkbox", name, checked: settings[name] });
    box.addEventListener("change", async () => {
      show(error);
      try {
        await api("PATCH", "/settings/signin", { [name]: box.checked });
        reload();
      } catch (e) {
        box.checked = !box.checked;
        show(error, passkeyError(e));
      }
    });
    return h("label", { class: "check" }, box, ` ${label}`);
  };
  return h(
    "section",
    { class: "card", "aria-labelledby": "signin-settings-title" },
    h("h2", { id: "signin-settings-title" }, "How admins sign in"),
    h("p", { class: "muted" }, "For every admin of this keygate. The root token always works."),
    toggle("password_signin", "Admins may sign in with a password"),
    toggle("second_factor_required", "Every admin needs a second factor (those without one enrol at their next sign-in)"),
    error,
  );
}

/** The account page's sections for identity: second factors, sessions, and the owners' settings. */
export async function accountSections(reload: () => void, signedOutEverywhere: () => void): Promise<HTMLElement[]> {
  const [account, sessions] = await Promise.all([api<Account>("GET", "/account"), api<{ data: Session[] }>("GET", "/account/sessions")]);
  return [
    factorsSection(account, reload),
    sessionsSection(sessions.data, reload, signedOutEverywhere),
    ...(isOwner() && currentAdmin() ? [await signinSettingsSection(reload)] : []),
  ];
}
