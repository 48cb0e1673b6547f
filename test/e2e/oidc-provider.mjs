// A real OpenID Connect provider on loopback for the single sign-on tests: the certified
// `oidc-provider` package, run in this Node process. Its login is the one thing it does not ask a
// person for: it signs in whoever the test names next (`signInAs`), with the claims the test gives.
// Everything else (discovery, PKCE, codes, the token endpoint, signed ID tokens, its JWKS) is the
// provider's own. `tamper` lets a test play the attacker on the token endpoint's answer.
import { createServer } from "node:http";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import Provider from "oidc-provider";
import { freePort } from "../../scripts/local.mjs";

export const CLIENT_ID = "keygate-test";
export const CLIENT_SECRET = "keygate-test-secret-0123456789abcdef";

/** Where a provider will listen: its issuer is known before keygate starts, its redirect URI after. */
export async function providerAddress() {
  const port = await freePort();
  return { port, issuer: `http://127.0.0.1:${port}` };
}

export async function startProvider({ port, issuer, redirectUris, clientId = CLIENT_ID, clientSecret = CLIENT_SECRET }) {
  const { privateKey } = await generateKeyPair("RS256", { extractable: true });
  const kid = "provider-key-1";
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: "RS256", use: "sig" };
  const accounts = new Map();
  let next = null;
  let tamper = null;

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: redirectUris,
        grant_types: ["authorization_code"],
        response_types: ["code"],
        token_endpoint_auth_method: "client_secret_basic",
      },
    ],
    jwks: { keys: [privateJwk] },
    cookies: { keys: ["provider-cookie-key-0123456789"] },
    claims: { openid: ["sub", "amr", "auth_time"], email: ["email", "email_verified"], profile: ["name"] },
    // The email in the ID token itself, as Google, Entra, Okta, Auth0 and Keycloak send it.
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    findAccount: (_ctx, id) => {
      const claims = accounts.get(id);
      return claims ? { accountId: id, claims: () => ({ sub: id, ...claims }) } : undefined;
    },
    // Consent is the provider's business: every sign-in is granted the scopes keygate asks for.
    loadExistingGrant: async (ctx) => {
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
      grant.addOIDCScope("openid email profile");
      await grant.save();
      return grant;
    },
  });
  provider.proxy = false;
  provider.use(async (ctx, nextMiddleware) => {
    await nextMiddleware();
    if (tamper && ctx.path === "/token" && ctx.status === 200 && ctx.body?.id_token) {
      const change = tamper;
      tamper = null;
      ctx.body = { ...ctx.body, id_token: await change(ctx.body.id_token) };
    }
  });

  const callback = provider.callback();
  const server = createServer(async (req, res) => {
    if (req.url?.startsWith("/interaction/")) {
      try {
        const who = next ?? { email: "nobody@example.com" };
        next = null;
        if (!accounts.has(who.email)) accounts.set(who.email, { email: who.email, email_verified: who.emailVerified ?? true, name: who.email });
        await provider.interactionFinished(req, res, { login: { accountId: who.email, amr: who.amr ?? ["pwd"] } }, { mergeWithLastSubmission: false });
      } catch (error) {
        res.statusCode = 500;
        res.end(String(error));
      }
      return;
    }
    callback(req, res);
  });
  await new Promise((resolve) => server.listen(port, "127.0.0.1", resolve));

  /** An ID token with these claims, signed with the provider's own key (or `key`, one it never published). */
  const sign = async (claims, { key = privateKey, keyId = kid } = {}) =>
    new SignJWT(claims).setProtectedHeader({ alg: "RS256", kid: keyId, typ: "JWT" }).sign(key);

  return {
    issuer,
    clientId,
    clientSecret,
    /** The next sign-in at the provider is this person: {email, emailVerified = true, amr = ["pwd"]}. */
    signInAs: (who) => {
      next = who;
      accounts.set(who.email, { email: who.email, email_verified: who.emailVerified ?? true, name: who.email });
    },
    /** The next token response's id_token goes through `change(idToken)` first. */
    tamperNextToken: (change) => {
      tamper = change;
    },
    sign,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}
