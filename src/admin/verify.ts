import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { CREDITS_LIMIT_NAME, QUOTA_LIMIT_NAME } from "../authority/plan";
import { rolesGranted } from "../authority/roles";
import { ALL_VERDICT_CODES } from "../authority/verdicts";
import { Environment } from "../authority/wire";
import { VerifyRequest } from "../gateway/verify-request";
import { verifyAsked } from "../gateway/verify-credential";
import type { AdminEnv } from "./context";
import { permit } from "./permissions";
import { guardedErrors, json, jsonBody } from "./responses";
import { validationHook } from "./validation";

export const verifyRoutes = new OpenAPIHono<AdminEnv>({ defaultHook: validationHook });

const VerifyResponse = z
  .object({
    valid: z.boolean(),
    code: z.enum(ALL_VERDICT_CODES as [string, ...string[]]).openapi({
      description: "`valid`, or the error code the gateway would refuse the same request with (for an access token `invalid_token`, `expired_token`, `revoked_token` where a key gets `invalid_key`, `expired_key`, `revoked_key`).",
    }),
    key_id: z.string().nullable().openapi({ description: "The key's id, or an access token's grant's (`grt_…`); null for unknown, malformed and deleted keys (`invalid_key`) and unknown tokens." }),
    tenant_id: z.string().nullable(),
    environment: Environment.nullable(),
    scopes: z.array(z.string()).openapi({ description: "The key's (or the token's grant's) scopes as of this decision." }),
    client_id: z.string().nullable().openapi({ description: "For an OAuth access token: the app it was issued to." }),
    subject: z.string().nullable().openapi({ description: "For an access token of a user's grant: the user's subject id (null for client_credentials)." }),
    missing_scopes: z.array(z.string()).openapi({ description: "For `insufficient_permissions`: the needed scopes the key lacks." }),
    ratelimit: z
      .object({
        limit: z.number(),
        remaining: z.number(),
        reset: z.number().openapi({ description: "Unix ms when `remaining` next grows; when refused, when a slot frees." }),
        window_seconds: z.number(),
      })
      .nullable()
      .openapi({ description: "The key's tightest window after this call; null when the key may not be used at all." }),
    limits: z
      .array(
        z.object({
          name: z.string().openapi({ description: `A window's name, \`${CREDITS_LIMIT_NAME}\` (the key's), or \`${QUOTA_LIMIT_NAME}\` (its tenant's quota).` }),
          limit: z.number(),
          remaining: z.number(),
          reset: z.number().nullable().openapi({ description: "Unix ms when `remaining` next grows; null: not by waiting." }),
          window_seconds: z.number().nullable(),
        }),
      )
      .openapi({ description: "Every limit of the key after this call, as the RateLimit headers list them; empty when the key may not be used at all." }),
    retry_after: z.number().nullable().openapi({ description: "For a refusal by a limit: seconds until asking again can help; null otherwise, or when waiting does not help." }),
  })
  .openapi("Verification");

verifyRoutes.openapi(
  createRoute({
    method: "post",
    path: "/keys/verify",
    summary: "Verify a key",
    description:
      "Asks what the gateway would decide for a request with this key (or OAuth access token), without proxying it: the key's object decides and, for a valid key, " +
      "counts the call in the key's window exactly like a proxied request (so a verification uses up the same limit, and a revocation " +
      "is seen on the very next call). Always 200 for a decision, valid or not: read `valid` and `code`. " +
      "With `path` (and `method`, default GET) the route rules decide the scopes needed, read as the proxy reads them; `scopes` adds more. " +
      `Open to the root token and the roles ${rolesGranted("verify").join(", ")} (\`verifier\` may do nothing else); not to the others, because a verification is counted. ` +
      "Refused keys sent here do not count against a client's failed-attempt limit: the caller is a trusted service, not the key's holder.",
    middleware: [permit("verify")],
    request: { body: jsonBody(VerifyRequest) },
    responses: { 200: json(VerifyResponse, "The decision"), ...guardedErrors(400) },
  }),
  async (c) => {
    const { services, requestId } = c.var;
    return c.json(await verifyAsked(services, c.req.valid("json"), { request: c.req.raw, requestId }), 200);
  },
);
