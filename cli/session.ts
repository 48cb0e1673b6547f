import type { Command } from "commander";
import { AdminClient, DEFAULT_URL, normalizeUrl, type ApiResponse } from "./client";
import { loadSession, saveSession, type StoredSession } from "./credentials";
import { ApiRefusal, CliError, EXIT, UsageError } from "./errors";
import { writeOut } from "./output";

/** Refresh a stored token when less than this is left of it (tokens live 1 hour). */
const REFRESH_MARGIN_MS = 5 * 60_000;
const LOGIN_AGAIN = "Run `keygate login` again.";

interface GlobalOptions {
  url?: string;
  json?: boolean;
}

/** Where the credential came from: KEYGATE_TOKEN always wins over a stored login. */
export type Credential = { source: "env"; token: string } | { source: "login"; token: string; session: StoredSession };

/** What every command needs: where keygate is, how to print, and (on demand) a signed-in client. */
export class Session {
  readonly url: string;
  readonly json: boolean;
  private resolved: Promise<Credential> | null = null;

  constructor(command: Command) {
    const options = command.optsWithGlobals<GlobalOptions>();
    this.url = normalizeUrl(options.url ?? (process.env.KEYGATE_URL || DEFAULT_URL));
    this.json = options.json === true;
  }

  /** For sign-in, the one call that needs no credential. */
  anonymous(): AdminClient {
    return new AdminClient(this.url, null);
  }

  async client(): Promise<AdminClient> {
    const credential = await this.credential();
    return new AdminClient(this.url, credential.token, credential.source === "login" ? LOGIN_AGAIN : "Check KEYGATE_TOKEN.");
  }

  /** The credential to use, refreshing a stored token that is about to expire (once per run). */
  credential(): Promise<Credential> {
    this.resolved ??= this.resolveCredential();
    return this.resolved;
  }

  private async resolveCredential(): Promise<Credential> {
    const token = process.env.KEYGATE_TOKEN?.trim();
    if (token) return { source: "env", token };
    const session = await loadSession(this.url);
    if (!session) throw new CliError(`not signed in to ${this.url}: run \`keygate login\` or set KEYGATE_TOKEN.`, EXIT.refused);
    const left = Date.parse(session.expires_at) - Date.now();
    if (!(left > 0)) throw new CliError(`the session at ${this.url} has expired. ${LOGIN_AGAIN}`, EXIT.refused);
    if (left < REFRESH_MARGIN_MS) return { source: "login", token: (await this.refresh(session)).access_token, session };
    return { source: "login", token: session.access_token, session };
  }

  /**
   * Trades the still-valid token for a fresh one. keygate ends a session 24 hours after the
   * password was given, so this is refused then, and after a password change.
   */
  private async refresh(session: StoredSession): Promise<StoredSession> {
    let response: ApiResponse;
    try {
      response = await new AdminClient(this.url, session.access_token).post("/signins", { grant_type: "refresh" });
    } catch (error) {
      if (error instanceof ApiRefusal) throw new CliError(`could not refresh the session: ${error.message} ${LOGIN_AGAIN}`, EXIT.refused);
      throw error;
    }
    const refreshed: StoredSession = { ...session, access_token: response.body.access_token, expires_at: expiryOf(response.body) };
    await saveSession(this.url, refreshed);
    return refreshed;
  }

  /** --json: the API's body exactly as it came; otherwise the readable rendering. */
  print(response: ApiResponse, render: (body: any) => void): void {
    if (this.json) {
      if (response.text) writeOut(response.text);
    } else {
      render(response.body);
    }
  }
}

/** --quiet and --json each promise standard output to itself; refused before anything is sent. */
export function quietSession(command: Command, quiet: boolean | undefined): Session {
  const session = new Session(command);
  if (quiet && session.json) throw new UsageError("--quiet and --json cannot be used together.");
  return session;
}

/** The access token's expiry, from the API's expires_in (seconds from now). */
export function expiryOf(token: { expires_in?: unknown }): string {
  const seconds = typeof token.expires_in === "number" ? token.expires_in : 3600;
  return new Date(Date.now() + seconds * 1000).toISOString();
}

/** The unverified claims of a JWT, for display only (the server verifies every use). */
export function claimsOf(token: string): Record<string, unknown> {
  try {
    return JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8")) as Record<string, unknown>;
  } catch {
    return {};
  }
}
