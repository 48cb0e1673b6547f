import { z } from "@hono/zod-openapi";
import { RECOVERY_CODE_COUNT } from "../identity/recovery-codes";

/** Wire shapes of admin identity: second factors, passkeys, sessions, sign-in settings. */

/** A code from an authenticator app (six digits) or a recovery code (`abcde-fghij`). */
export const Code = z.string().trim().min(6).max(32).openapi({ example: "123456" });

/** What every WebAuthn answer carries besides its `response`. */
const credentialFields = {
  id: z.string().min(1).max(1024),
  rawId: z.string().min(1).max(1024),
  type: z.literal("public-key"),
  clientExtensionResults: z.record(z.string(), z.unknown()).default({}),
  authenticatorAttachment: z.enum(["platform", "cross-platform"]).optional(),
};

/** What navigator.credentials.get() answers, as @simplewebauthn/browser encodes it (base64url). */
export const PasskeyAssertion = z
  .object({
    ...credentialFields,
    response: z.object({
      clientDataJSON: z.string().min(1).max(8192),
      authenticatorData: z.string().min(1).max(8192),
      signature: z.string().min(1).max(2048),
      userHandle: z.string().max(1024).optional(),
    }),
  })
  .openapi("PasskeyAssertion", { description: "The browser's answer to `passkey_options` (navigator.credentials.get), base64url-encoded." });

/** What navigator.credentials.create() answers, as @simplewebauthn/browser encodes it. */
export const PasskeyAttestation = z
  .object({
    ...credentialFields,
    response: z.object({
      clientDataJSON: z.string().min(1).max(8192),
      attestationObject: z.string().min(1).max(32768),
      transports: z.array(z.enum(["ble", "cable", "hybrid", "internal", "nfc", "smart-card", "usb"])).max(8).optional(),
    }),
  })
  .openapi("PasskeyAttestation", { description: "The browser's answer to the registration options (navigator.credentials.create), base64url-encoded." });

const MfaToken = z.string().min(1).max(128);

/** The second step of a sign-in: the mfa_token and a code or a passkey, never both. */
export const SecondFactor = {
  mfa_token: MfaToken,
  code: Code.optional(),
  passkey: PasskeyAssertion.optional(),
};

/** Exactly one of `code` and `passkey`. */
export function oneProof(value: { code?: unknown; passkey?: unknown }, ctx: z.RefinementCtx): void {
  if ((value.code === undefined) === (value.passkey === undefined)) {
    ctx.addIssue({ code: "custom", message: "give either code or passkey", path: ["code"] });
  }
}

export const Reauthentication = z
  .strictObject({ password: z.string().min(1).max(256).optional(), code: Code.optional(), passkey: PasskeyAssertion.optional() })
  .superRefine((value, ctx) => {
    if ([value.password, value.code, value.passkey].filter((v) => v !== undefined).length !== 1) {
      ctx.addIssue({ code: "custom", message: "give exactly one of password, code and passkey", path: [] });
    }
  })
  .openapi("Reauthentication", { example: { code: "123456" } });

export const TotpEnrolment = z
  .object({
    object: z.literal("totp_enrolment"),
    secret: z.string().openapi({ description: "The authenticator's secret, base32, for typing into an app." }),
    otpauth_uri: z.string().openapi({ description: "The same as an otpauth:// URI, for a QR code." }),
    confirmed: z.literal(false),
  })
  .openapi("TotpEnrolment");

export const RecoveryCodes = z
  .object({
    object: z.literal("recovery_codes"),
    codes: z.array(z.string()).openapi({ description: `${RECOVERY_CODE_COUNT} one-time codes. Shown once: keygate keeps only their hashes.` }),
  })
  .openapi("RecoveryCodes");

export const Passkey = z
  .object({ id: z.string(), object: z.literal("passkey"), name: z.string(), created_at: z.string(), last_used_at: z.string().nullable() })
  .openapi("Passkey");

export const PasskeyCreated = Passkey.extend({
  recovery_codes: z.array(z.string()).optional().openapi({ description: `With the admin's first second factor: ${RECOVERY_CODE_COUNT} one-time recovery codes, shown once.` }),
}).openapi("PasskeyCreated");

export const PasskeyRegistration = z.strictObject({ name: z.string().trim().min(1).max(100).default("Passkey"), response: PasskeyAttestation }).openapi("PasskeyRegistration");

export const PasskeyOptions = z
  .object({ object: z.literal("passkey_options"), options: z.record(z.string(), z.unknown()).openapi({ description: "For navigator.credentials (base64url-encoded, as @simplewebauthn/browser takes them)." }) })
  .openapi("PasskeyOptions");

export const Account = z
  .object({
    object: z.literal("account"),
    id: z.string(),
    email: z.string(),
    role: z.string(),
    has_password: z.boolean(),
    second_factors: z.object({
      totp: z.boolean(),
      passkeys: z.array(Passkey),
      recovery_codes_left: z.number(),
    }),
    session: z
      .object({
        id: z.string().nullable(),
        authenticated_at: z.string(),
        enrolment_required: z.boolean().openapi({ description: "A second factor is required and you have none: only enrolling one is allowed until you do." }),
      })
      .nullable(),
  })
  .openapi("Account");

export const Session = z
  .object({
    id: z.string(),
    object: z.literal("session"),
    kind: z.enum(["console", "api"]).openapi({ description: "`console`: a browser's cookie session; `api`: a sign-in through POST /signins (the CLI)." }),
    device: z.string().openapi({ description: "Read from the user agent, e.g. \"Chrome on macOS\" or \"keygate CLI\"." }),
    user_agent: z.string().nullable(),
    methods: z.array(z.string()).openapi({ description: "How the admin signed in (amr values): pwd, otp, hwk (a passkey), sso, mfa." }),
    created_at: z.string(),
    last_used_at: z.string().openapi({ description: "Recorded to the minute." }),
    expires_at: z.string(),
    ip: z.string().nullable().openapi({ description: "At the last recorded use; null with LOG_CLIENT_IPS=false." }),
    current: z.boolean().openapi({ description: "The session of the token making this call." }),
  })
  .openapi("Session");

export const SigninSettingsView = z
  .object({
    object: z.literal("signin_settings"),
    password_signin: z.boolean(),
    second_factor_required: z.boolean(),
  })
  .openapi("SigninSettings");

export const SigninSettingsUpdate = z
  .strictObject({ password_signin: z.boolean().optional(), second_factor_required: z.boolean().optional() })
  .refine((v) => v.password_signin !== undefined || v.second_factor_required !== undefined, "password_signin or second_factor_required is required")
  .openapi("SigninSettingsUpdate");

export const SigninMethods = z
  .object({
    object: z.literal("signin_methods"),
    password: z.boolean(),
    passkey: z.literal(true),
    sso: z.object({ provider: z.string(), start_url: z.string() }).nullable(),
  })
  .openapi("SigninMethods");
