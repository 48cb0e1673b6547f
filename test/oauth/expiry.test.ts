import { describe, expect, it } from "vitest";
import { systemClock } from "../../src/clock";
import { createTenant, errorOf, gateway, uniqueIp } from "../support/client";
import { keygateBinding } from "../support/verify";
import { expectError } from "../admin/support";
import { authorize, authorizeAndExchange, complete, consentRequest, oauthError, oauthPost, pkce, REDIRECT_URI, registerClient, storedOAuth, type Tokens } from "./support";

// Every OAuth credential ends on time, read off the clock the worker and its objects share, which
// this file moves forward (never back, never by sleeping): a code after 60 seconds, the consent
// page's request after 10 minutes, an access token after an hour, a refresh token after 30 days.

const SECOND = 1000;

describe("on the moved clock", () => {
  it("a code, the consent request, an access token and a refresh token each expire; a refusal changes nothing stored", async () => {
    const app = await registerClient();
    const users = (await createTenant("Users")).id;
    const start = () => authorize({ response_type: "code", client_id: app.client_id, redirect_uri: REDIRECT_URI, code_challenge: challenge, code_challenge_method: "S256" });
    const { verifier, challenge } = await pkce();
    const approved = await complete({ decision: "approve", request: consentRequest(await start()), tenant_id: users, subject: "user_clock" });
    const code = new URL(((await approved.json()) as { redirect_to: string }).redirect_to).searchParams.get("code")!;
    const pending = consentRequest(await start());
    const tokens = await authorizeAndExchange(app, { tenant_id: users, subject: "user_tokens" });

    systemClock.advance(61 * SECOND);
    const before = await storedOAuth();
    const late = await oauthPost("token", { grant_type: "authorization_code", client_id: app.client_id, code, redirect_uri: REDIRECT_URI, code_verifier: verifier });
    expect(await oauthError(late)).toMatchObject({ status: 400, error: "invalid_grant", error_description: "The code has expired: start the authorization again." });
    expect(await storedOAuth()).toEqual(before);

    systemClock.advance(10 * 60 * SECOND);
    const stale = await complete({ decision: "approve", request: pending, tenant_id: users, subject: "user_clock" });
    const error = await expectError(stale, 400, "invalid_request");
    expect(error.error.details).toMatchObject({ fields: [{ field: "request" }] });
    expect(await storedOAuth()).toEqual(before);

    systemClock.advance(60 * 60 * SECOND);
    const expired = await gateway("/items", { headers: { authorization: `Bearer ${tokens.access_token}`, "cf-connecting-ip": uniqueIp() } });
    expect((await errorOf(expired)).error).toMatchObject({ code: "expired_token", message: "The access token has expired." });
    expect(expired.headers.get("www-authenticate")).toContain('error="invalid_token"');
    expect(await keygateBinding.verify({ key: tokens.access_token })).toMatchObject({ valid: false, code: "expired_token", key_id: tokens.grantId, client_id: app.client_id });
    // The grant lives on: its refresh token brings a new access token.
    const refreshed = (await (await oauthPost("token", { grant_type: "refresh_token", client_id: app.client_id, refresh_token: tokens.refresh_token! })).json()) as Tokens;
    expect((await gateway("/items", { headers: { authorization: `Bearer ${refreshed.access_token}` } })).status).toBe(200);

    systemClock.advance(30 * 86_400 * SECOND);
    const beforeRefresh = await storedOAuth();
    const old = await oauthPost("token", { grant_type: "refresh_token", client_id: app.client_id, refresh_token: refreshed.refresh_token! });
    expect(await oauthError(old)).toMatchObject({ status: 400, error: "invalid_grant", error_description: "The refresh token has expired: the user must authorize the app again." });
    expect(await storedOAuth()).toEqual(beforeRefresh);
  });
});
