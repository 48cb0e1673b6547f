// A minimal consent page for keygate's OAuth authorization server, and a tiny third-party app to
// try it with. `npm run dev`'s demo origin serves both (scripts/origin.mjs mounts them):
//   GET  /oauth/consent?request=…  the page keygate sends a user to (OAUTH_CONSENT_URL): the app's
//                                  name and the scopes it asks for, a sign-in form, Allow and Deny
//   POST /oauth/consent            signs the user in, then completes the authorization through
//                                  keygate's admin API (POST /_keygate/v1/oauth-authorizations)
//                                  with an `authorizer` admin's token, and sends the browser on
//   GET  /oauth/demo               the demo app: starts the code flow (PKCE S256, state)
//   GET  /oauth/demo/callback      the demo app's redirect URI: exchanges the code, calls the API
//                                  through keygate with the access token, shows what came back
//
// The page signs users in from the small directory it is given (username, password, the tenant
// they belong to, their subject id): a stand-in for your own sign-in. Everything else is what a
// real consent page does. Plain Node, no dependencies.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * @param {object} options
 * @param {string} options.keygateUrl   where keygate answers (its admin API and OAuth endpoints)
 * @param {{email: string, password: string}} options.authorizer  an admin with the role `authorizer`
 * @param {{username: string, password: string, subject: string, tenantId: string}[]} options.users
 * @param {{clientId: string, redirectUri: string, apiPath?: string}} [options.demoApp]  a public client for /oauth/demo
 * @returns {(req: import("node:http").IncomingMessage, res: import("node:http").ServerResponse, url: URL) => boolean}
 *   handles the request (true) if it is one of the paths above
 */
export function oauthConsent({ keygateUrl, authorizer, users, demoApp }) {
  const admin = authorizerSession(keygateUrl, authorizer);
  return (req, res, url) => {
    const route = `${req.method} ${url.pathname}`;
    const handler = {
      "GET /oauth/consent": () => consentForm(res, url.searchParams.get("request")),
      "POST /oauth/consent": () => decide(req, res, { admin, users }),
      "GET /oauth/demo": () => demoApp && startDemo(res, keygateUrl, demoApp),
      "GET /oauth/demo/callback": () => demoApp && finishDemo(req, res, url, keygateUrl, demoApp),
    }[route];
    if (!handler) return false;
    Promise.resolve(handler()).catch((error) => page(res, 500, "Something went wrong", `<p>${escape(error.message)}</p>`));
    return true;
  };
}

// ── The consent page ───────────────────────────────────────────────────────────────────────────

/** The request's claims, for showing: keygate signed them, and checks that when the page completes it. */
function requestClaims(request) {
  try {
    return JSON.parse(Buffer.from(request.split(".")[1], "base64url").toString("utf8"));
  } catch {
    return null;
  }
}

function consentForm(res, request, { error = "", status = 200, username = "" } = {}) {
  const claims = request && requestClaims(request);
  if (!claims) return page(res, 400, "Nothing to approve", "<p>This page is opened by an app asking for access; start again from the app.</p>");
  const scopes = String(claims.scope ?? "").split(" ").filter(Boolean);
  page(
    res,
    status,
    "Allow access?",
    `<p><strong>${escape(claims.client_name)}</strong> would like to act for you, with:</p>
<form method="post" action="/oauth/consent">
  <input type="hidden" name="request" value="${escape(request)}">
  <fieldset><legend>Access</legend>
    ${scopes.map((scope) => `<label><input type="checkbox" name="scope" value="${escape(scope)}" checked> ${escape(scope)}</label>`).join("\n    ")}
  </fieldset>
  <p>Sign in to decide:</p>
  <label>Username <input name="username" autocomplete="username" value="${escape(username)}" required></label>
  <label>Password <input type="password" name="password" autocomplete="current-password" required></label>
  ${error ? `<p role="alert" class="error">${escape(error)}</p>` : ""}
  <button name="decision" value="approve">Allow</button>
  <button name="decision" value="deny">Deny</button>
</form>
<p class="small">You will be sent back to ${escape(new URL(claims.redirect_uri).origin)}.</p>`,
  );
}

async function decide(req, res, { admin, users }) {
  const form = new URLSearchParams(await readBody(req));
  const request = form.get("request") ?? "";
  const username = form.get("username") ?? "";
  const user = users.find((candidate) => candidate.username === username);
  if (!user || !samePassword(form.get("password") ?? "", user.password)) {
    return consentForm(res, request, { error: "The username or password is not correct.", status: 401, username });
  }
  const decision =
    form.get("decision") === "deny"
      ? { decision: "deny", request }
      : { decision: "approve", request, tenant_id: user.tenantId, subject: user.subject, scopes: form.getAll("scope") };
  if (decision.decision === "approve" && decision.scopes.length === 0) {
    return consentForm(res, request, { error: "Choose at least one kind of access, or Deny.", status: 400, username });
  }
  const answer = await admin.call("POST", "/oauth-authorizations", decision);
  if (!answer.ok) return page(res, answer.status, "This request cannot be completed", `<p>${escape(answer.body?.error?.message ?? "keygate refused it.")}</p>`);
  res.writeHead(303, { location: answer.body.redirect_to, "cache-control": "no-store" });
  res.end();
}

function samePassword(given, expected) {
  const digest = (text) => createHash("sha256").update(text).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/**
 * The page's own credential for keygate: an `authorizer` admin's token from a password sign-in,
 * taken again shortly before it expires (tokens live an hour) or when keygate refuses it.
 */
function authorizerSession(keygateUrl, { email, password }) {
  let token = null;
  let expiresAt = 0;
  const signIn = async () => {
    const res = await fetch(`${keygateUrl}/_keygate/v1/signins`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ grant_type: "password", email, password }),
    });
    if (!res.ok) throw new Error(`the consent page could not sign in to keygate as ${email} (${res.status})`);
    const body = await res.json();
    token = body.access_token;
    expiresAt = Date.now() + (body.expires_in - 60) * 1000;
  };
  const call = async (method, path, body, retry = true) => {
    if (!token || Date.now() >= expiresAt) await signIn();
    const res = await fetch(`${keygateUrl}/_keygate/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    if (res.status === 401 && retry) {
      token = null;
      return call(method, path, body, false);
    }
    return { ok: res.ok, status: res.status, body: await res.json().catch(() => null) };
  };
  return { call };
}

// ── The demo app ───────────────────────────────────────────────────────────────────────────────

const DEMO_COOKIE = "oauth_demo";

/** A public client's start: a PKCE verifier and a state, kept in a cookie of this app's own. */
function startDemo(res, keygateUrl, { clientId, redirectUri }) {
  const verifier = randomBytes(32).toString("base64url");
  const state = randomBytes(16).toString("base64url");
  const challenge = createHash("sha256").update(verifier).digest("base64url");
  const authorize = new URL(`${keygateUrl}/_keygate/oauth/authorize`);
  for (const [name, value] of Object.entries({
    response_type: "code",
    client_id: clientId,
    redirect_uri: redirectUri,
    code_challenge: challenge,
    code_challenge_method: "S256",
    state,
  })) {
    authorize.searchParams.set(name, value);
  }
  res.writeHead(302, {
    location: authorize.toString(),
    "set-cookie": `${DEMO_COOKIE}=${state}.${verifier}; HttpOnly; SameSite=Lax; Path=/oauth/demo; Max-Age=600`,
    "cache-control": "no-store",
  });
  res.end();
}

async function finishDemo(req, res, url, keygateUrl, { clientId, redirectUri, apiPath = "/hello" }) {
  const cookie = /(?:^|;\s*)oauth_demo=([^;]*)/.exec(req.headers.cookie ?? "")?.[1] ?? "";
  const [state, verifier] = cookie.split(".");
  if (url.searchParams.get("error")) return page(res, 400, "Not allowed", `<p>keygate says: ${escape(url.searchParams.get("error"))}</p><p><a href="/oauth/demo">Try again</a></p>`);
  if (!state || url.searchParams.get("state") !== state) return page(res, 400, "Unexpected answer", "<p>The state does not match: <a href=\"/oauth/demo\">start again</a>.</p>");
  const tokens = await fetch(`${keygateUrl}/_keygate/oauth/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "authorization_code", client_id: clientId, code: url.searchParams.get("code") ?? "", redirect_uri: redirectUri, code_verifier: verifier }),
  }).then((r) => r.json());
  if (!tokens.access_token) return page(res, 400, "No token", `<pre>${escape(JSON.stringify(tokens, null, 2))}</pre>`);
  const api = await fetch(`${keygateUrl}${apiPath}`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
  const echo = await api.text();
  page(
    res,
    200,
    "The demo app got access",
    `<p>It exchanged the code for tokens (scope <code>${escape(tokens.scope)}</code>) and called <code>${escape(apiPath)}</code> through keygate with the access token:
HTTP ${api.status}. What the API (the demo origin) was told:</p>
<pre>${escape(identityOf(echo))}</pre>
<p>Access token: <code>${escape(tokens.access_token)}</code><br>Refresh token: <code>${escape(tokens.refresh_token ?? "-")}</code></p>
<pre>curl -i ${escape(keygateUrl + apiPath)} -H "Authorization: Bearer ${escape(tokens.access_token)}"</pre>`,
  );
}

/** The x-keygate-* headers of the demo origin's echo, or the answer as it came. */
function identityOf(echo) {
  try {
    const headers = JSON.parse(echo).headers;
    return Object.entries(headers)
      .filter(([name]) => name.startsWith("x-keygate-"))
      .map(([name, value]) => `${name}: ${value}`)
      .join("\n");
  } catch {
    return echo;
  }
}

// ── Pages ──────────────────────────────────────────────────────────────────────────────────────

function page(res, status, title, body) {
  res.writeHead(status, {
    "content-type": "text/html; charset=utf-8",
    "cache-control": "no-store",
    // A consent page must never be framed (clickjacking), nor load anything from elsewhere. (No
    // form-action: browsers apply it to the redirect after the form too, which leaves for the app.)
    "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
    "x-frame-options": "DENY",
  });
  res.end(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escape(title)}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}label{display:block;margin:.5rem 0}
input[name=username],input[type=password]{display:block;width:100%;padding:.4rem}button{margin:.75rem .5rem 0 0;padding:.5rem 1rem}
.error{color:#b00020}.small{color:#555;font-size:.85rem}pre{white-space:pre-wrap;word-break:break-all;background:#f4f4f4;padding:.5rem}</style>
</head><body><h1>${escape(title)}</h1>
${body}
</body></html>`);
}

function escape(value) {
  return String(value ?? "").replace(/[&<>"']/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch]);
}

function readBody(req, limit = 64 * 1024) {
  return new Promise((resolve, reject) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk) => {
      body += chunk;
      if (body.length > limit) reject(new Error("the form is too large"));
    });
    req.on("end", () => resolve(body));
    req.on("error", reject);
  });
}
