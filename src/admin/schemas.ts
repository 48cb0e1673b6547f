import { z } from "@hono/zod-openapi";
import { DEFAULT_ENVIRONMENT } from "../authority/key";
import { DEFAULT_SCOPES } from "../authority/scopes";
import { MAX_LIMIT, MAX_WINDOW_SECONDS } from "../authority/window";
import { systemClock } from "../clock";
import { MAX_NAME_LENGTH } from "../http/limits";
import { AdminRole, Environment, KeyState, Scopes, TenantStatus } from "../authority/wire";
import { oneProof, PasskeyAssertion, SecondFactor } from "./identity-schemas";
import { ACTOR_TYPES, RESOURCE_TYPES } from "../store/audit-repo";
import { CreditsInput, CreditsView, QuotasInput, QuotasView, RateLimits, RateLimitsView } from "./plans";

/** Admin input shapes, validated at the edge of every handler. Unknown fields are refused. */

export const TenantId = z.string().regex(/^ten_[0-9A-Za-z]{1,64}$/, "must be a tenant id (ten_…)");
export const KeyId = z.string().regex(/^key_[0-9A-Za-z]{1,64}$/, "must be a key id (key_…)");
export const AdminId = z.string().regex(/^adm_[0-9A-Za-z]{1,64}$/, "must be an admin id (adm_…)");

export const Name = z.string().trim().min(1).max(MAX_NAME_LENGTH);
const Description = z.string().max(1000);
const KeyScopes = Scopes.openapi({ example: [...DEFAULT_SCOPES] });

export const RateLimit = z
  .strictObject({
    limit: z.number().int().min(1).max(MAX_LIMIT),
    window_seconds: z.number().int().min(1).max(MAX_WINDOW_SECONDS),
  })
  .openapi({ example: { limit: 60, window_seconds: 60 }, description: "The one-window shorthand: the same as `rate_limits` with one window named `default`." });

/** `rate_limit` and `rate_limits` say the same thing two ways: one of them at most. */
function oneWindowSpelling(value: { rate_limit?: unknown; rate_limits?: unknown }, ctx: z.RefinementCtx) {
  if (value.rate_limit !== undefined && value.rate_limits !== undefined) {
    ctx.addIssue({ code: "custom", message: "give rate_limit (one window) or rate_limits, not both", path: ["rate_limits"] });
  }
}

/** Lower-cased, so one person cannot hold two accounts (or two failure counters) by case. */
const Email = z.email().max(254).toLowerCase();
/** NIST SP 800-63B: long passphrases welcome, no composition rules. */
const Password = z.string().min(12).max(256);

/** A refine sees no request's services: it reads the isolate's one clock, which they hold too. */
export const FutureTime = z.iso
  .datetime({ offset: true })
  .transform((value) => Date.parse(value))
  .refine((ms) => ms > systemClock.now(), "must be in the future");

export const TenantCreate = z.strictObject({ name: Name, quotas: QuotasInput.optional() }).openapi("TenantCreate");

export const TenantUpdate = z
  .strictObject({ name: Name.optional(), status: TenantStatus.optional(), quotas: QuotasInput.optional() })
  .refine((v) => v.name !== undefined || v.status !== undefined || v.quotas !== undefined, "name, status or quotas is required")
  .superRefine((v, ctx) => {
    // Each is written to every key's object before the call returns; one request does one of them.
    if (v.status !== undefined && v.quotas !== undefined) {
      ctx.addIssue({ code: "custom", message: "change status and quotas in separate requests", path: ["quotas"] });
    }
  })
  .openapi("TenantUpdate");

/**
 * Omitted environment, expires_at and rate_limit are filled in by the handler, as they depend on
 * the caller: an admin's key defaults to live, no expiry and the configured limit; a tenant key's
 * to its own environment, expiry and limit.
 */
export const KeyCreate = z
  .strictObject({
    tenant_id: TenantId,
    name: Name.optional(),
    description: Description.optional(),
    environment: Environment.optional().openapi({ description: `Default: ${DEFAULT_ENVIRONMENT}; for a tenant's own key, its own environment.` }),
    scopes: KeyScopes.default(() => [...DEFAULT_SCOPES]).openapi({ description: `Default: ${DEFAULT_SCOPES.join(", ")}.` }),
    expires_at: FutureTime.nullable()
      .optional()
      .openapi({ description: "Default: never; for a tenant's own key that expires, its own expiry." }),
    rate_limit: RateLimit.optional().openapi({ description: "Default: the configured default; for a tenant's own key, its own windows." }),
    rate_limits: RateLimits.optional().openapi({ description: "Several windows instead of `rate_limit`. Default as for `rate_limit`." }),
    credits: CreditsInput.nullable()
      .optional()
      .openapi({ description: "Default: none (the key spends no credits). A tenant's own key that has credits must give them (400 without): they are taken from its own." }),
  })
  .superRefine(oneWindowSpelling)
  .openapi("KeyCreate");
export type KeyCreateInput = z.output<typeof KeyCreate>;

/** PATCH semantics: an absent field is unchanged; `null` clears name, description and expiry. */
export const KeyUpdate = z
  .strictObject({
    name: Name.nullable().optional(),
    description: Description.nullable().optional(),
    scopes: KeyScopes.optional(),
    expires_at: FutureTime.nullable().optional(),
    rate_limit: RateLimit.optional(),
    rate_limits: RateLimits.optional(),
    credits: CreditsInput.nullable().optional().openapi({ description: "Sets the credits the key has from now, and its refill; `null` removes them." }),
  })
  .refine((v) => Object.keys(v).length > 0, "at least one field is required")
  .superRefine(oneWindowSpelling)
  .openapi("KeyUpdate");
export type KeyUpdateInput = z.output<typeof KeyUpdate>;

/** 30 days: long enough to roll a key through any deployment, short enough to end. */
export const MAX_GRACE_SECONDS = 30 * 86_400;

export const KeyRotate = z
  .strictObject({
    grace_seconds: z.number().int().min(0).max(MAX_GRACE_SECONDS).default(0).openapi({
      description: "How long the old key keeps working. 0 (the default) ends it at once.",
      example: 3600,
    }),
  })
  .openapi("KeyRotate");

export const AdminCreate = z.strictObject({ email: Email, password: Password, role: AdminRole }).openapi("AdminCreate");

export const AdminUpdate = z
  .strictObject({ role: AdminRole.optional(), password: Password.optional() })
  .refine((v) => v.role !== undefined || v.password !== undefined, "role or password is required")
  .openapi("AdminUpdate");

const SigninEmail = z.string().trim().toLowerCase().min(1).max(254);
const SigninPassword = z.string().min(1).max(256);

export const Signin = z
  .discriminatedUnion("grant_type", [
    z.strictObject({ grant_type: z.literal("password"), email: SigninEmail, password: SigninPassword }),
    z.strictObject({ grant_type: z.literal("mfa"), ...SecondFactor }).superRefine(oneProof),
    z.strictObject({ grant_type: z.literal("refresh") }),
  ])
  .openapi("Signin", {
    description:
      'Password sign-in; its second step `{"grant_type":"mfa","mfa_token","code"|"passkey"}` when it answered 401 mfa_required; or `{"grant_type":"refresh"}` with `Authorization: Bearer <current token>`.',
    example: { grant_type: "password", email: "ops@example.com", password: "correct horse battery staple" },
  });

/** The console's sign-in: a password, the second step after 401 mfa_required, or a passkey alone. */
export const SessionSignin = z
  .union([
    z.strictObject({ email: SigninEmail, password: SigninPassword }),
    z.strictObject(SecondFactor).superRefine(oneProof),
    z.strictObject({ passkey: PasskeyAssertion }),
  ])
  .openapi("SessionSignin", { example: { email: "ops@example.com", password: "correct horse battery staple" } });

export const PasswordChange = z
  .strictObject({ current_password: z.string().min(1).max(256), new_password: Password })
  .openapi("PasswordChange");

export const Tenant = z
  .object({
    id: z.string(),
    object: z.literal("tenant"),
    name: z.string(),
    status: TenantStatus,
    quotas: QuotasView.openapi({
      description: "The quota of each environment (null: none). GET of one tenant reads `used`, `remaining` and `resets_at` from the quota; lists show the plan only.",
    }),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("Tenant");

export const TenantUpdated = Tenant.extend({
  fanout: z
    .object({
      pending: z.boolean().openapi({ description: "true: some keys' objects still have the old status or quotas; repeat the same PATCH to continue." }),
    })
    .optional()
    .openapi({ description: "Present when the request gave a status or quotas." }),
}).openapi("TenantUpdated");

export const ApiKey = z
  .object({
    id: z.string(),
    object: z.literal("api_key"),
    tenant_id: z.string(),
    name: z.string().nullable(),
    description: z.string().nullable(),
    environment: Environment,
    display: z.string().openapi({ example: "kg_live_ab12…9xYz" }),
    scopes: z.array(z.string()),
    status: KeyState,
    expires_at: z.string().nullable(),
    rate_limit: z.object({ limit: z.number(), window_seconds: z.number() }).openapi({ description: "The key's first window (what `rate_limit` set, for keys with one)." }),
    rate_limits: RateLimitsView,
    credits: CreditsView,
    created_at: z.string(),
    updated_at: z.string(),
    revoked_at: z.string().nullable(),
    rotated_from: z.string().nullable(),
    rotated_to: z.string().nullable(),
    last_used_at: z.string().nullable().openapi({
      description: "The key's last admitted request, as its Durable Object last forwarded it (5 seconds to a minute behind); GET /keys/{id}/usage has it exactly.",
    }),
  })
  .openapi("ApiKey");

export const ApiKeyWithSecret = ApiKey.extend({
  key: z.string().openapi({ description: "The API key itself. Shown once, never again." }),
}).openapi("ApiKeyWithSecret");

export const Admin = z
  .object({
    id: z.string(),
    object: z.literal("admin"),
    email: z.string(),
    role: AdminRole,
    created_at: z.string(),
    updated_at: z.string(),
    last_signin_at: z.string().nullable(),
  })
  .openapi("Admin");

export const AccessToken = z
  .object({
    access_token: z.string(),
    token_type: z.literal("Bearer"),
    expires_in: z.number().openapi({ example: 3600 }),
    enrolment_required: z.literal(true).optional().openapi({
      description: "Every admin needs a second factor and you have none: until you enrol one (POST /account/totp or /account/passkeys), only /account routes answer.",
    }),
  })
  .openapi("AccessToken");

export const AuditEvent = z
  .object({
    id: z.string(),
    object: z.literal("audit_event"),
    action: z.string().openapi({ example: "key.revoked" }),
    actor: z.object({
      type: z.enum(ACTOR_TYPES).openapi({
        description:
          "`client`: nobody signed in (a failed sign-in, an app registering itself); the id is the client's address. `oauth_client`: an app, by its client id.",
      }),
      id: z.string(),
    }),
    resource: z.object({
      type: z
        .enum(RESOURCE_TYPES)
        .openapi({ description: "`signin`: a sign-in attempt; the id is the email it was made for. `settings`: the sign-in settings (id `signin`)." }),
      id: z.string(),
    }),
    tenant_id: z.string().nullable(),
    request_id: z.string(),
    details: z.record(z.string(), z.unknown()).nullable(),
    created_at: z.string(),
  })
  .openapi("AuditEvent");

const CodeCounts = z.record(z.string(), z.number()).openapi({ example: { revoked_key: 2, insufficient_permissions: 1 } });

export const UsagePoint = z.object({
  admitted: z.number().openapi({ description: "Requests admitted (verifications that answered valid included)." }),
  units: z.number().openapi({ description: "Cost units the admitted requests spent (ROUTE_COSTS; 1 per request without a rule): what credits and quotas count." }),
  rate_limited: z.number().openapi({ description: "Requests refused by one of the key's rate windows (429 rate_limit_exceeded)." }),
  refused: CodeCounts.openapi({
    description:
      "Other refusals by code: usage_exceeded (credits), quota_exceeded (the tenant's quota), revoked_key, expired_key, tenant_inactive, " +
      "insufficient_permissions, invalid_key (a deleted key).",
  }),
});

export const UsageSeries = {
  granularity: z.enum(["hour", "day"]),
  from: z.string().openapi({ description: "Start of the first bucket (UTC)." }),
  to: z.string().openapi({ description: "End of the last bucket (exclusive)." }),
  series: z.array(UsagePoint.extend({ start: z.string() })).openapi({ description: "Every bucket of the range, oldest first, empty ones included." }),
  totals: UsagePoint,
};

export const KeyUsage = z
  .object({
    object: z.literal("key_usage"),
    key_id: z.string(),
    requests: z.number().openapi({ description: "Requests the key was admitted for, ever." }),
    rate_limited: z.number().openapi({ description: "Requests refused by the key's rate limit, ever." }),
    last_used_at: z.string().nullable().openapi({ description: "The last admitted request." }),
    last_used_ip: z.string().nullable().openapi({ description: "Its client address (null with LOG_CLIENT_IPS=false)." }),
    last_used_country: z.string().nullable().openapi({ description: "Its country as Cloudflare saw it, where known." }),
    ...UsageSeries,
  })
  .openapi("KeyUsage");

export const ScopeCatalog = z
  .object({
    object: z.literal("scopes"),
    configured: z.array(z.string()).openapi({ description: "The scopes ROUTE_SCOPES asks for, each once.", example: ["servers"] }),
    defaults: z.array(z.string()).openapi({ example: [...DEFAULT_SCOPES] }),
    self_service: z.string().openapi({ example: "keys:manage" }),
  })
  .openapi("ScopeCatalog");

export const KeyEvent = z
  .object({
    object: z.literal("key_event"),
    id: z.string(),
    at: z.string(),
    code: z.string().openapi({ description: "valid, or the code the request was refused with.", example: "valid" }),
    status: z.number().openapi({ description: "keygate's answer for that verdict: 200 for an admission (the origin's own status is not recorded), 401, 403 or 429 for a refusal." }),
    method: z.string().nullable(),
    path: z.string().nullable().openapi({ description: "Without the query; text that looks like a key is cut to its prefix." }),
    ip: z.string().nullable().openapi({ description: "null with LOG_CLIENT_IPS=false, and for RPC verifications." }),
    country: z.string().nullable(),
    user_agent: z.string().nullable().openapi({ description: "Its first 64 characters." }),
    request_id: z.string().nullable().openapi({ description: "The x-request-id keygate answered with (null over RPC)." }),
    carrier: z.enum(["x-api-key", "bearer", "basic", "verify"]).nullable().openapi({ description: "How the key was sent; `verify` for POST /keys/verify and the RPC entrypoint." }),
  })
  .openapi("KeyEvent");

export const TenantUsage = z
  .object({
    object: z.literal("tenant_usage"),
    tenant_id: z.string(),
    ...UsageSeries,
    keys: z
      .array(UsagePoint.extend({ key_id: z.string() }))
      .openapi({ description: "Each key's totals over the range, busiest first (at most 100)." }),
  })
  .openapi("TenantUsage");

export const FailedAttempts = z
  .object({
    object: z.literal("failed_attempts"),
    ip: z.string().openapi({ description: "The address's counting group: itself for IPv4, its /64 for IPv6." }),
    hours: z.array(z.object({ start: z.string(), counts: CodeCounts })).openapi({ description: "Hours of the last 7 days with failures, oldest first." }),
    data: z.array(
      z.object({
        at: z.string(),
        code: z.string().openapi({ description: "What the client was answered: invalid_key, revoked_key, expired_key, or too_many_failed_attempts once blocked." }),
        path: z.string().nullable(),
        key: z.string().nullable().openapi({ description: "The key's display form, never the key.", example: "kg_live_ab12…9xYz" }),
      }),
    ).openapi({ description: "The newest failures first." }),
  })
  .openapi("FailedAttempts");

export const IdParam = <T extends z.ZodType>(id: T) => z.object({ id });
