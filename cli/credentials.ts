import { chmod, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { isAbsolute, join } from "node:path";
import { CliError, EXIT } from "./errors";

/** A signed-in admin's token for one keygate, as `keygate login` keeps it. */
export interface StoredSession {
  access_token: string;
  /** When the token stops working (from the API's expires_in). */
  expires_at: string;
  email: string;
  /** From the token's claims, for whoami; the server is the one that checks them. */
  admin_id: string | null;
  role: string | null;
  signed_in_at: string;
}

/** Sessions keyed by keygate URL, so a local dev server and production can both be signed in. */
interface CredentialsFile {
  sessions: Record<string, StoredSession>;
}

/** $XDG_CONFIG_HOME/keygate, or ~/.config/keygate (the XDG default; the spec ignores a relative value). */
export function configDir(): string {
  const xdg = process.env.XDG_CONFIG_HOME;
  return join(xdg && isAbsolute(xdg) ? xdg : join(homedir(), ".config"), "keygate");
}

export function credentialsPath(): string {
  return join(configDir(), "credentials.json");
}

async function readAll(): Promise<CredentialsFile> {
  const path = credentialsPath();
  let raw: string;
  try {
    raw = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { sessions: {} };
    throw new CliError(`cannot read ${path}: ${(error as Error).message}`, EXIT.refused);
  }
  try {
    const parsed = JSON.parse(raw) as Partial<CredentialsFile>;
    return { sessions: parsed.sessions && typeof parsed.sessions === "object" ? parsed.sessions : {} };
  } catch {
    throw new CliError(`${path} is not valid JSON; delete it and run \`keygate login\` again.`, EXIT.refused);
  }
}

/**
 * Written to a temporary file created with mode 0600 and renamed over the old one, so the token is
 * never readable by others, not even for a moment, and a crash never leaves half a file.
 */
async function writeAll(file: CredentialsFile): Promise<void> {
  const dir = configDir();
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const path = credentialsPath();
  if (Object.keys(file.sessions).length === 0) {
    await rm(path, { force: true });
    return;
  }
  const scratch = `${path}.${process.pid}.tmp`;
  await writeFile(scratch, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
  await chmod(scratch, 0o600);
  await rename(scratch, path);
}

export async function loadSession(url: string): Promise<StoredSession | null> {
  return (await readAll()).sessions[url] ?? null;
}

export async function saveSession(url: string, session: StoredSession): Promise<void> {
  const file = await readAll();
  file.sessions[url] = session;
  await writeAll(file);
}

/** True when there was a session to forget. */
export async function forgetSession(url: string): Promise<boolean> {
  const file = await readAll();
  if (!file.sessions[url]) return false;
  delete file.sessions[url];
  await writeAll(file);
  return true;
}
