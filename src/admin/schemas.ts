import { z } from "@hono/zod-openapi";

/** Admin input shapes, validated at the edge of every handler. Unknown fields are refused. */

const SCOPE_PATTERN = /^(\*|[a-z][a-z0-9_-]*(:[a-z0-9_*-]+)*)$/;

export const TenantId = z.string().regex(/^ten_[0-9A-Za-z]{1,64}$/, "must be a tenant id (ten_…)");
export const KeyId = z.string().regex(/^key_[0-9A-Za-z]{1,64}$/, "must be a key id (key_…)");

const Name = z.string().trim().min(1).max(200);
const Description = z.string().max(1000);
const Scope = z.string().max(64).regex(SCOPE_PATTERN, 'must look like "read", "write:servers" or "*"');

export const Scopes = z.array(Scope).max(50).openapi({ example: ["read", "write"] });

export const RateLimit = z
  .strictObject({
    limit: z.number().int().min(1).max(1_000_000),
    window_seconds: z.number().int().min(1).max(86_400),
  })
  .openapi({ example: { limit: 60, window_seconds: 60 } });

export const FutureTime = z.iso
  .datetime({ offset: true })
  .transform((value) => Date.parse(value))
  .refine((ms) => ms > Date.now(), "must be in the future");

export const TenantCreate = z.strictObject({ name: Name }).openapi("TenantCreate");

export const TenantUpdate = z
  .strictObject({ name: Name.optional(), status: z.enum(["active", "suspended"]).optional() })
  .refine((v) => v.name !== undefined || v.status !== undefined, "name or status is required")
  .openapi("TenantUpdate");

export const KeyCreate = z
  .strictObject({
    tenant_id: TenantId,
    name: Name.optional(),
    description: Description.optional(),
    environment: z.enum(["live", "test"]).default("live"),
    scopes: Scopes.optional(),
    expires_at: FutureTime.nullable().optional(),
    rate_limit: RateLimit.optional(),
  })
  .openapi("KeyCreate");

export const Tenant = z
  .object({
    id: z.string(),
    object: z.literal("tenant"),
    name: z.string(),
    status: z.enum(["active", "suspended"]),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("Tenant");

export const Key = z
  .object({
    id: z.string(),
    object: z.literal("api_key"),
    tenant_id: z.string(),
    name: z.string().nullable(),
    description: z.string().nullable(),
    environment: z.enum(["live", "test"]),
    display: z.string().openapi({ example: "kg_live_ab12…9xYz" }),
    scopes: z.array(z.string()),
    status: z.enum(["active", "expired", "revoked", "deleted"]),
    expires_at: z.string().nullable(),
    rate_limit: z.object({ limit: z.number(), window_seconds: z.number() }),
    created_at: z.string(),
    updated_at: z.string(),
    revoked_at: z.string().nullable(),
    rotated_from: z.string().nullable(),
    rotated_to: z.string().nullable(),
  })
  .openapi("ApiKey");

export const KeyWithSecret = Key.extend({
  key: z.string().openapi({ description: "The API key itself. Shown once, never again." }),
}).openapi("ApiKeyWithSecret");

export const ErrorEnvelope = z
  .object({
    success: z.literal(false),
    error: z.object({ code: z.string(), message: z.string(), details: z.record(z.string(), z.unknown()).nullable() }),
    requestId: z.string(),
  })
  .openapi("Error");

export const IdParam = <T extends z.ZodType>(id: T) => z.object({ id });
