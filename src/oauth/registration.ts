import { z } from "@hono/zod-openapi";
import {
  CLIENT_AUTH_METHODS,
  clientTypeFor,
  DEFAULT_CLIENT_AUTH_METHOD,
  grantTypeList,
  grantTypesProblem,
  MAX_REDIRECT_URIS,
  redirectUriProblem,
  REGISTRABLE_GRANT_TYPES,
  RESPONSE_TYPE,
  scopeList,
  scopeParam,
  scopesBeyond,
} from "../authority/oauth";
import { oneOf } from "../authority/wire";
import { OAuthError } from "../http/errors";
import { MAX_NAME_LENGTH } from "../http/limits";
import type { Services } from "../services";
import type { Actor } from "../store/audit-trail";
import { createClient } from "./clients";

/**
 * Dynamic client registration (RFC 7591): the metadata an app sends, as the endpoint reads it and
 * the API document describes it (one schema for both), and what keygate makes of it.
 */

export const Registration = z
  .object({
    redirect_uris: z
      .array(z.string())
      .min(1)
      .max(MAX_REDIRECT_URIS)
      .openapi({ description: "https, http on 127.0.0.1, [::1] or localhost, or the app's own scheme (com.example.app:/callback); compared exactly." }),
    client_name: z.string().trim().min(1).max(MAX_NAME_LENGTH).optional().openapi({ description: "Shown to users on the consent page. Default: Unnamed app." }),
    token_endpoint_auth_method: oneOf(CLIENT_AUTH_METHODS)
      .default(DEFAULT_CLIENT_AUTH_METHOD)
      .openapi({ description: "`none` makes a public client; `client_secret_basic` or `client_secret_post` a confidential one, whose secret the answer shows once." }),
    grant_types: z
      .array(oneOf(REGISTRABLE_GRANT_TYPES))
      .default([...REGISTRABLE_GRANT_TYPES])
      .openapi({
        description:
          "What the token endpoint will let the app use (any other: `unauthorized_client`); a refresh token only with `refresh_token`, " +
          "which needs `authorization_code`. No client_credentials: the app has no tenant of its own. Default: `authorization_code` and `refresh_token`.",
      }),
    response_types: z.array(z.literal(RESPONSE_TYPE)).default([RESPONSE_TYPE]),
    scope: z.string().max(4000).optional().openapi({ description: "Space-separated; only what the metadata's `scopes_supported` lists. Default: all of it." }),
  })
  .openapi("OAuthClientMetadata");

export type RegistrationInput = z.output<typeof Registration>;

/** The body, read in RFC 7591's words: a bad redirect URI is invalid_redirect_uri, anything else invalid_client_metadata. */
export function readRegistration(body: unknown): RegistrationInput {
  const parsed = Registration.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.join(".") || "body";
    throw new OAuthError(field.startsWith("redirect_uris") ? "invalid_redirect_uri" : "invalid_client_metadata", `${field}: ${issue.message}`);
  }
  const input = parsed.data;
  for (const uri of input.redirect_uris) {
    const problem = redirectUriProblem(uri);
    if (problem) throw new OAuthError("invalid_redirect_uri", `${uri}: ${problem}`);
  }
  const problem = grantTypesProblem({ type: clientTypeFor(input.token_endpoint_auth_method), tenantId: null }, input.grant_types);
  if (problem) throw new OAuthError("invalid_client_metadata", `grant_types: ${problem}`);
  return input;
}

/**
 * Registers the app: it belongs to no tenant, may be granted `scope` (some of `supported`, all of
 * them by default) and gets the default rate limit per grant. The answer is what keygate
 * registered, not what was asked (RFC 7591 §3.2.1), with a confidential client's secret, once.
 */
export async function registerClient(services: Services, actor: Actor, input: RegistrationInput, supported: readonly string[]) {
  const scopes = input.scope === undefined ? [...supported] : scopeList(input.scope);
  const excess = scopesBeyond(scopes, supported);
  if (excess.length > 0 || scopes.length === 0) throw new OAuthError("invalid_client_metadata", `scope may name only ${supported.join(", ")}.`);
  const { limit, windowSeconds } = services.config.defaultRateLimit;
  const { client, secret } = await createClient(services, actor, {
    tenantId: null,
    name: input.client_name ?? "Unnamed app",
    type: clientTypeFor(input.token_endpoint_auth_method),
    redirectUris: input.redirect_uris,
    scopes,
    grantTypes: grantTypeList(input.grant_types),
    limit,
    windowSeconds,
  });
  return {
    client_id: client.id,
    ...(secret === null ? {} : { client_secret: secret, client_secret_expires_at: 0 }),
    client_id_issued_at: Math.floor(client.createdAt / 1000),
    client_name: client.name,
    redirect_uris: client.redirectUris,
    token_endpoint_auth_method: input.token_endpoint_auth_method,
    grant_types: client.grantTypes,
    response_types: input.response_types,
    scope: scopeParam(client.scopes),
  };
}
