import { z } from "@hono/zod-openapi";
import { CLIENT_TYPES, delegationProblem, GRANT_END_REASONS, GRANT_STATES, GRANT_TYPES, grantTypesProblem, MAX_REDIRECT_URIS, redirectUriProblem } from "../authority/oauth";
import { Scope, oneOf } from "../authority/wire";
import { MAX_SCOPES } from "../authority/scopes";
import { Name, RateLimit, TenantId } from "./schemas";

/** The admin API's shapes for OAuth clients, grants and the consent page's completions. */

export const ClientId = z.string().regex(/^cli_[0-9A-Za-z]{1,64}$/, "must be an OAuth client id (cli_…)");
export const GrantId = z.string().regex(/^grt_[0-9A-Za-z]{1,64}$/, "must be a grant id (grt_…)");
export const ClientType = oneOf(CLIENT_TYPES).openapi({
  description: "`public`: a browser or native app, which holds no secret (PKCE alone). `confidential`: a server, which gets a client secret and may use client_credentials for its own tenant.",
});
export const GrantState = oneOf(GRANT_STATES);

/** A user's id in the operator's system, as the origin receives it in x-keygate-subject. */
export const Subject = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[\x21-\x7e]+$/, "must be printable ASCII without spaces (it travels in a header)")
  .openapi({ description: "The user's id in your own system; the origin receives it in `x-keygate-subject`.", example: "user_42" });

const RedirectUri = z.string().superRefine((uri, ctx) => {
  const problem = redirectUriProblem(uri);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

const RedirectUris = z
  .array(RedirectUri)
  .min(1)
  .max(MAX_REDIRECT_URIS)
  .openapi({
    description: "Where the app may be sent back, compared exactly: https, http on 127.0.0.1, [::1] or localhost, or the app's own scheme (com.example.app:/callback).",
    example: ["https://app.example.com/callback"],
  });

/** An app's scopes: named ones only (never `*` or keys:manage). */
const DelegableScope = Scope.superRefine((scope, ctx) => {
  const problem = delegationProblem(scope);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});
export const ClientScopes = z
  .array(DelegableScope)
  .min(1)
  .max(MAX_SCOPES)
  .openapi({ description: "What the app may be granted; a user approves some or all of those it asks for.", example: ["read"] });

const GrantTypes = z.array(oneOf(GRANT_TYPES)).max(GRANT_TYPES.length);

export const OAuthClientCreate = z
  .strictObject({
    tenant_id: TenantId.openapi({ description: "The tenant that owns the app (whose own data client_credentials reaches)." }),
    name: Name.openapi({ description: "Shown to users on the consent page.", example: "Acme Reports" }),
    type: ClientType,
    redirect_uris: RedirectUris,
    scopes: ClientScopes,
    grant_types: GrantTypes.optional().openapi({
      description:
        "What the token endpoint will let the app use (any other: `unauthorized_client`); a refresh token only with `refresh_token`, which needs `authorization_code`; " +
        "`client_credentials` only for a confidential client. Default: `authorization_code` and `refresh_token`, and `client_credentials` too for a confidential client.",
    }),
    rate_limit: RateLimit.optional().openapi({ description: "Each of its grants' limit. Default: the configured default." }),
  })
  .superRefine((input, ctx) => {
    const problem = input.grant_types && grantTypesProblem({ type: input.type, tenantId: input.tenant_id }, input.grant_types);
    if (problem) ctx.addIssue({ code: "custom", path: ["grant_types"], message: problem });
  })
  .openapi("OAuthClientCreate");

export const OAuthClientUpdate = z
  .strictObject({ name: Name.optional(), redirect_uris: RedirectUris.optional(), scopes: ClientScopes.optional(), rate_limit: RateLimit.optional() })
  .refine((v) => Object.keys(v).length > 0, "at least one field is required")
  .openapi("OAuthClientUpdate");
export type OAuthClientUpdateInput = z.output<typeof OAuthClientUpdate>;

const Fanout = z
  .object({ pending: z.boolean().openapi({ description: "true: some grants still have the old settings; repeat the same call to continue." }) })
  .openapi({ description: "Present when the call changed grants." });

export const OAuthClient = z
  .object({
    id: z.string(),
    object: z.literal("oauth_client"),
    client_id: z.string().openapi({ description: "The same as `id`: what the app sends as `client_id`." }),
    tenant_id: z.string().nullable().openapi({ description: "null for an app that registered itself (dynamic registration)." }),
    name: z.string(),
    type: ClientType,
    redirect_uris: z.array(z.string()),
    scopes: z.array(z.string()),
    grant_types: GrantTypes.openapi({ description: "What the token endpoint lets the app use." }),
    rate_limit: z.object({ limit: z.number(), window_seconds: z.number() }),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("OAuthClient");

export const OAuthClientWithSecret = OAuthClient.extend({
  client_secret: z.string().optional().openapi({ description: "A confidential client's secret (`kg_cs_…`). Shown once, never again; stored only as its hash." }),
}).openapi("OAuthClientWithSecret");

export const OAuthClientUpdated = OAuthClient.extend({ fanout: Fanout.optional() }).openapi("OAuthClientUpdated");

export const OAuthGrant = z
  .object({
    id: z.string(),
    object: z.literal("oauth_grant"),
    tenant_id: z.string().openapi({ description: "The tenant whose data the app reaches." }),
    client_id: z.string(),
    subject: z.string().nullable().openapi({ description: "The user who approved it; null for a client's own grant (client_credentials)." }),
    scopes: z.array(z.string()),
    status: GrantState,
    revoked_reason: oneOf(GRANT_END_REASONS).nullable(),
    rate_limit: z.object({ limit: z.number(), window_seconds: z.number() }),
    created_at: z.string(),
    updated_at: z.string(),
    revoked_at: z.string().nullable(),
    last_used_at: z.string().nullable().openapi({ description: "The grant's last admitted request, as its Durable Object last forwarded it (5 seconds to a minute behind)." }),
  })
  .openapi("OAuthGrant");

export const GrantsRevoke = z
  .strictObject({
    tenant_id: TenantId.optional(),
    subject: Subject.optional(),
    client_id: ClientId.optional(),
  })
  .refine((v) => (v.subject === undefined || v.tenant_id !== undefined) && (v.client_id !== undefined || v.subject !== undefined), {
    message: "give tenant_id and subject (a user's grants), client_id (an app's), or all three",
  })
  .openapi("OAuthGrantsRevoke", { example: { tenant_id: "ten_6Bq0Yl2N3pXzZk1VwR4s", subject: "user_42" } });

export const GrantsRevoked = z
  .object({
    object: z.literal("oauth_grant_revocation"),
    revoked: z.number().openapi({ description: "Grants this call revoked." }),
    pending: z.boolean().openapi({ description: `true: more grants match; repeat the same call to continue.` }),
  })
  .openapi("OAuthGrantsRevoked");

const ConsentRequest = z.string().min(1).max(8192).openapi({ description: "The `request` parameter keygate sent the consent page." });

export const AuthorizationDecision = z
  .discriminatedUnion("decision", [
    z.strictObject({
      decision: z.literal("approve"),
      request: ConsentRequest,
      tenant_id: TenantId.openapi({ description: "The tenant the user belongs to: whose data the app will reach." }),
      subject: Subject,
      scopes: z
        .array(Scope)
        .min(1)
        .max(MAX_SCOPES)
        .optional()
        .openapi({ description: "What the user approved: some or all of the scopes the app asked for. Default: all of them." }),
    }),
    z.strictObject({ decision: z.literal("deny"), request: ConsentRequest }),
  ])
  .openapi("OAuthAuthorizationDecision", {
    example: { decision: "approve", request: "eyJ…", tenant_id: "ten_6Bq0Yl2N3pXzZk1VwR4s", subject: "user_42", scopes: ["read"] },
  });

export const AuthorizationRedirect = z
  .object({
    object: z.literal("oauth_authorization"),
    redirect_to: z.string().openapi({ description: "Send the user's browser here (303): the app's redirect URI with `code` (or `error=access_denied`), `state` and `iss`." }),
  })
  .openapi("OAuthAuthorizationRedirect");
