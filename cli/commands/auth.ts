import type { Command } from "commander";
import { credentialsPath, forgetSession, saveSession, type StoredSession } from "../credentials";
import { ApiRefusal, UsageError } from "../errors";
import { details, say, time, writeOut } from "../output";
import { ask, interactive, readSecret } from "../prompt";
import { claimsOf, expiryOf, Session } from "../session";

export function registerAuth(program: Command): void {
  program
    .command("login")
    .description("Sign in as an admin with email and password (and a code, with a second factor); the token is kept for this --url and refreshed as you use it")
    .option("--email <email>", "the admin's email (env KEYGATE_EMAIL; asked for at a terminal)")
    .option("--otp <code>", "a code from your authenticator app, or a recovery code, when your account has a second factor (asked for at a terminal)")
    .addHelpText(
      "after",
      `
The password is asked for without echo at a terminal; otherwise it is read from the first line
of standard input. With a second factor (an authenticator app), keygate asks for a code: give it
with --otp, type it at the terminal, or put it on the next line of standard input. Passkeys and
single sign-on are for the browser console. The token is stored in
${"$XDG_CONFIG_HOME"}/keygate/credentials.json (mode 0600).

Examples:
  $ keygate login --url https://api.example.com
  $ printf '%s\\n' "$PASSWORD" | keygate login --email ops@example.com --otp 123456`,
    )
    .action(async (options: { email?: string; otp?: string }, command: Command) => {
      const session = new Session(command);
      const email = options.email ?? process.env.KEYGATE_EMAIL ?? (interactive() ? await ask("Email: ") : "");
      if (!email) throw new UsageError("--email is required when standard input is not a terminal.");
      const password = await readSecret("Password: ", "password");
      const client = session.anonymous();
      let response;
      try {
        response = await client.post("/signins", { grant_type: "password", email, password });
      } catch (error) {
        if (!(error instanceof ApiRefusal && error.code === "mfa_required")) throw error;
        // The second step: the mfa_token (single-use, 5 minutes) and a code.
        const mfaToken = String(error.details?.mfa_token ?? "");
        const code = options.otp ?? (await readSecret("Code from your authenticator app (or a recovery code): ", "code (--otp)"));
        response = await client.post("/signins", { grant_type: "mfa", mfa_token: mfaToken, code: code.trim() });
      }
      const claims = claimsOf(response.body.access_token);
      const stored: StoredSession = {
        access_token: response.body.access_token,
        expires_at: expiryOf(response.body),
        email: email.trim().toLowerCase(),
        admin_id: typeof claims.sub === "string" ? claims.sub : null,
        role: typeof claims.role === "string" ? claims.role : null,
        signed_in_at: new Date().toISOString(),
      };
      await saveSession(session.url, stored);
      session.print(response, () => {});
      say(`Signed in to ${session.url} as ${stored.email}${stored.role ? ` (${stored.role})` : ""}.`);
      if (process.env.KEYGATE_TOKEN) say("Note: KEYGATE_TOKEN is set, and it is used instead of this login until you unset it.");
    });

  program
    .command("logout")
    .description("Forget the token stored for this --url")
    .addHelpText("after", "\nThe token is only deleted here; keygate accepts it until it expires (within the hour).\n\nExample:\n  $ keygate logout --url https://api.example.com")
    .action(async (_options: unknown, command: Command) => {
      const session = new Session(command);
      say((await forgetSession(session.url)) ? `Signed out of ${session.url}.` : `Not signed in to ${session.url}; nothing to do.`);
    });

  program
    .command("whoami")
    .description("Show who this CLI acts as at --url, after checking with keygate that the credential works")
    .addHelpText("after", "\nExample:\n  $ keygate whoami\n  $ KEYGATE_TOKEN=$ADMIN_TOKEN keygate whoami --json")
    .action(async (_options: unknown, command: Command) => {
      const session = new Session(command);
      const credential = await session.credential();
      const client = await session.client();
      // Every kind of caller (root, any admin role, a keys:manage key) may list keys: a cheap probe.
      await client.get("/keys", { limit: 1 });

      const claims = claimsOf(credential.token);
      const kind = credential.token.includes(".") && claims.sub ? "admin" : /^[a-z]+_(live|test)_/.test(credential.token) ? "api_key" : "root";
      const stored = credential.source === "login" ? credential.session : null;
      const identity = {
        url: session.url,
        source: credential.source === "env" ? "KEYGATE_TOKEN" : credentialsPath(),
        kind,
        admin_id: kind === "admin" ? String(claims.sub) : null,
        email: stored?.email ?? null,
        role: kind === "admin" && typeof claims.role === "string" ? claims.role : null,
        expires_at: stored?.expires_at ?? (typeof claims.exp === "number" ? new Date(claims.exp * 1000).toISOString() : null),
      };
      // There is no "who am I" route: this JSON is the CLI's own, from the token and the stored login.
      if (session.json) return writeOut(JSON.stringify(identity));
      const who =
        kind === "root" ? "the root ADMIN_TOKEN" : kind === "api_key" ? "a tenant's API key (keys:manage)" : `${identity.email ?? identity.admin_id} (${identity.role}, ${identity.admin_id})`;
      details([
        ["url", identity.url],
        ["acting as", who],
        ["credential", identity.source],
        ...(identity.expires_at ? ([["expires", time(identity.expires_at)]] as Array<[string, string]>) : []),
      ]);
    });
}
