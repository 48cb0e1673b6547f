import { z, type OpenAPIHono } from "@hono/zod-openapi";
import { CODE_TTL_SECONDS, GRANT_TYPES, MAX_STATE_LENGTH, PKCE_METHOD, REQUEST_TTL_SECONDS, RESPONSE_TYPE } from "../authority/oauth";
import { OAUTH_ERROR_STATUS, type OAuthErrorCode } from "../http/errors";
import { ErrorEnvelope } from "../http/error-envelope";
import { Registration } from "./registration";

/**
 * The OAuth endpoints in the API document. They are plain routes (their validation must answer in
 * RFC 6749's words, in RFC 6749's order), so each is described here, next to nothing but its shapes.
 */

const ALL_OAUTH_CODES = Object.keys(OAUTH_ERROR_STATUS) as OAuthErrorCode[];

export const OAuthErrorBody = z
  .object({
    error: z.enum(ALL_OAUTH_CODES as [OAuthErrorCode, ...OAuthErrorCode[]]),
    error_description: z.string(),
  })
  .openapi("OAuthError", { description: "RFC 6749 §5.2. `too_many_failed_attempts` (429, with Retry-After) is keygate's extension." });

/** The error responses of an OAuth endpoint, each status with the codes it can carry. */
function oauthErrors(...statuses: (keyof typeof STATUS_CODES)[]) {
  return Object.fromEntries(
    statuses.map((status) => {
      const codes = STATUS_CODES[status];
      const schema = OAuthErrorBody.extend({ error: z.enum(codes as [OAuthErrorCode, ...OAuthErrorCode[]]) });
      return [status, { description: `${codes.join(", ")}.`, content: { "application/json": { schema } } }];
    }),
  );
}

const codesOf = (status: number) => ALL_OAUTH_CODES.filter((code) => OAUTH_ERROR_STATUS[code] === status);
const STATUS_CODES = { 400: codesOf(400), 401: codesOf(401), 429: codesOf(429), 500: codesOf(500), 503: codesOf(503) };

const Metadata = z.record(z.string(), z.unknown());

const TokenAnswer = z
  .object({
    access_token: z.string().openapi({ example: "kg_at_…" }),
    token_type: z.literal("Bearer"),
    expires_in: z.number().openapi({ example: 3600 }),
    scope: z.string().openapi({ description: "The scopes the access token carries: its grant's.", example: "read" }),
    refresh_token: z
      .string()
      .optional()
      .openapi({ description: "For a user's grant, to a client registered for refresh_token; a new one with every refresh (the one sent is spent).", example: "kg_rt_…" }),
  })
  .openapi("OAuthTokens");

const form = <T extends z.ZodType>(schema: T) => ({ content: { "application/x-www-form-urlencoded": { schema } }, required: true });

const ClientAuthFields = {
  client_id: z.string().optional().openapi({ description: "A public client's id (none), or a confidential one's with client_secret_post." }),
  client_secret: z.string().optional().openapi({ description: "client_secret_post; or send both in Authorization: Basic (client_secret_basic)." }),
};

export function describeOAuthServer(app: OpenAPIHono<any>, paths: { authorize: string; token: string; revoke: string; register: string; serverMetadata: string; resourceMetadata: string }): void {
  const registry = app.openAPIRegistry;
  registry.registerPath({
    method: "get",
    path: paths.serverMetadata,
    summary: "Authorization server metadata (RFC 8414)",
    description: "On the API's own host. `registration_endpoint` only when dynamic registration is on.",
    security: [],
    responses: { 200: { description: "The metadata", content: { "application/json": { schema: Metadata } } } },
  });
  registry.registerPath({
    method: "get",
    path: paths.resourceMetadata,
    summary: "Protected resource metadata (RFC 9728)",
    description: "On the API's own host: which authorization server issues tokens for this API, and the scopes it knows.",
    security: [],
    responses: { 200: { description: "The metadata", content: { "application/json": { schema: Metadata } } } },
  });
  registry.registerPath({
    method: "get",
    path: paths.authorize,
    summary: "Authorization endpoint (code flow, PKCE S256 required)",
    description:
      "Checks the app and its redirect URI (exactly as registered: otherwise 400 here, nothing redirected), then everything else (errors go back to the redirect URI), " +
      `then sends the browser to OAUTH_CONSENT_URL with \`request\`: a signed, single-use request valid ${REQUEST_TTL_SECONDS / 60} minutes. ` +
      `The consent page completes it with POST /_keygate/v1/oauth-authorizations; the app then gets a code valid ${CODE_TTL_SECONDS} seconds, with \`state\` and \`iss\`.`,
    security: [],
    request: {
      query: z.object({
        response_type: z.literal(RESPONSE_TYPE),
        client_id: z.string(),
        redirect_uri: z.string(),
        code_challenge: z.string().openapi({ description: "base64url(SHA-256(code_verifier)), 43 characters." }),
        code_challenge_method: z.literal(PKCE_METHOD),
        scope: z.string().optional().openapi({ description: "Space-separated; default: every scope the app may be granted." }),
        state: z.string().max(MAX_STATE_LENGTH).optional(),
      }),
    },
    responses: { 302: { description: "To the consent page, or back to the app with `error`" }, ...oauthErrors(400, 500, 503) },
  });
  registry.registerPath({
    method: "post",
    path: paths.token,
    summary: "Token endpoint",
    description:
      "`authorization_code` (with `code_verifier` and the same `redirect_uri`), `refresh_token` (rotates: a refresh token is spent when used, and using it again revokes the grant), " +
      "`client_credentials` (confidential clients of a tenant, for that tenant; no refresh token). A grant type the client did not register is refused with `unauthorized_client`. " +
      "A wrong client secret, code or refresh token counts as a failed attempt of the caller's address.",
    security: [],
    request: {
      body: form(
        z.object({
          grant_type: z.enum(GRANT_TYPES),
          code: z.string().optional(),
          redirect_uri: z.string().optional(),
          code_verifier: z.string().optional(),
          refresh_token: z.string().optional(),
          scope: z.string().optional().openapi({ description: "refresh_token and client_credentials: only scopes already granted (the token carries the grant's)." }),
          ...ClientAuthFields,
        }),
      ),
    },
    responses: { 200: { description: "The tokens", content: { "application/json": { schema: TokenAnswer } } }, ...oauthErrors(400, 401, 429, 500, 503) },
  });
  registry.registerPath({
    method: "post",
    path: paths.revoke,
    summary: "Revocation endpoint (RFC 7009)",
    description: "Revoking an access or a refresh token revokes its whole grant: every token of it is refused on its next use. An unknown token is answered 200.",
    security: [],
    request: { body: form(z.object({ token: z.string(), token_type_hint: z.enum(["access_token", "refresh_token"]).optional(), ...ClientAuthFields })) },
    responses: { 200: { description: "Revoked (or no such token)" }, ...oauthErrors(400, 401, 429, 500, 503) },
  });
  registry.registerPath({
    method: "post",
    path: paths.register,
    summary: "Dynamic client registration (RFC 7591)",
    description:
      "Only with OAUTH_DYNAMIC_REGISTRATION=true (otherwise 404). The app belongs to no tenant: it may ask only for the scopes the metadata offers and has no client_credentials. " +
      "The answer is the registration as keygate keeps it (RFC 7591 §3.2.1), with a confidential client's secret once.",
    security: [],
    request: { body: { required: true, content: { "application/json": { schema: Registration } } } },
    responses: {
      201: { description: "The registration, with client_secret once for a confidential client", content: { "application/json": { schema: Metadata } } },
      404: { description: "not_found: registration is turned off (keygate's error envelope, as for any route that does not exist).", content: { "application/json": { schema: ErrorEnvelope } } },
      ...oauthErrors(400, 500, 503),
    },
  });
}
