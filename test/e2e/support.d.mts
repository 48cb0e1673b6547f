// Types for support.mjs (plain ESM so that Node's APIs stay out of the workerd-typed test tree).

export interface KeyView {
  id: string;
  tenant_id: string;
  key: string;
  status: string;
  scopes: string[];
  rate_limit: { limit: number; window_seconds: number };
  [field: string]: unknown;
}

export interface TenantView {
  id: string;
  name: string;
  status: "active" | "suspended";
  [field: string]: unknown;
}

export interface AdminClient {
  createTenant(name: string): Promise<TenantView>;
  updateTenant(id: string, fields: { name?: string; status?: "active" | "suspended" }): Promise<TenantView>;
  createKey(fields: Record<string, unknown> & { tenant_id: string }): Promise<KeyView>;
  updateKey(id: string, fields: Record<string, unknown>): Promise<KeyView>;
  revokeKey(id: string): Promise<KeyView>;
  deleteKey(id: string): Promise<null>;
  createAdmin(fields: { email: string; password: string; role: "owner" | "admin" | "viewer" | "verifier" | "authorizer" }): Promise<{ id: string; email: string; role: string }>;
}

export interface Keygate {
  /** Where `wrangler dev` listens, e.g. http://127.0.0.1:41234 */
  url: string;
  originUrl: string;
  /** Temp directory of this instance (state, scratch files); removed by stop(). */
  dir: string;
  adminToken: string;
  admin: AdminClient;
  /** Requests the origin saw, per x-keygate-key-id. */
  originCounts(): Promise<Record<string, number>>;
  /** Requests the origin saw, per path. */
  originPaths(): Promise<Record<string, number>>;
  wranglerLogs(): string;
  /**
   * Serves the example consent page (examples/oauth-consent/consent.mjs) on the origin, where
   * OAUTH_CONSENT_URL points: it signs in `users` and completes authorizations as `authorizer`.
   */
  consentPage(options: {
    authorizer: { email: string; password: string };
    users: { username: string; password: string; subject: string; tenantId: string }[];
    demoApp?: { clientId: string; redirectUri: string; apiPath?: string };
  }): void;
  stop(): Promise<void>;
}

export function startKeygate(options?: { vars?: Record<string, string> }): Promise<Keygate>;

export interface LocalState {
  dir: string;
  /** wrangler's --persist-to: local D1, KV and Durable Objects. */
  persistTo: string;
  /** The secrets file (as .dev.vars). */
  devVarsPath: string;
  /** wrangler's local dev registry for what runs on this state (see registryEnv). */
  registryPath: string;
  remove(): Promise<void>;
}

/** A state directory of its own, for starting keygate on the same state more than once. */
export function localState(): Promise<LocalState>;

/** Rows of one SQL statement on a state's local D1, through `wrangler d1 execute --local --json`. */
export function queryLocalD1<T = Record<string, unknown>>(state: LocalState, sql: string): Promise<T[]>;

export interface Running {
  url: string;
  admin: AdminClient;
  stop(): Promise<void>;
}

/** What release 0.1.0 held: tenants by name; keys of a tenant (by index), maybe revoked; admins. */
export interface ReleaseZeroSeed {
  tenants: string[];
  keys: { tenant: number; limit?: number; windowSeconds?: number; revoked?: boolean }[];
  admins: { email: string; password: string; role: "owner" | "admin" | "viewer" }[];
}

/**
 * A local state as release 0.1.0's `npm run dev` left it: schema.sql as a plain file, no
 * migrations recorded, `seed` stored as that release stored it.
 */
export function releaseZeroState(state: LocalState, seed: ReleaseZeroSeed): Promise<{ tenants: TenantView[]; keys: KeyView[] }>;

/** `npm run dev`'s start-up (startDev in scripts/local.mjs) on `state`, on free ports. */
export function startDevOn(state: LocalState): Promise<
  Running & {
    vars: Record<string, string>;
    tenant: TenantView;
    key: KeyView;
    /** startDev's progress lines. */
    log: string[];
  }
>;

/** The admin API of the keygate running at `url` on `state`, with the root token from its dev vars. */
export function devAdmin(state: LocalState, url: string): AdminClient;

/** `npm run dev`'s options for `state`, on these ports. */
export function devArgs(state: LocalState, ports: { port: number; originPort: number }): string[];

/** The environment variables that point wrangler (and miniflare) at this dev registry. */
export function registryEnv(registryPath: string): Record<string, string>;

export interface NpmRun {
  output(): string;
  /** Its exit status (or the signal that ended it). */
  exited: Promise<number | string | null>;
  /** The first match of `pattern` in the output; rejects when the command ends first or the time is up. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** Ctrl-C, then its exit status. */
  interrupt(): Promise<number | string | null>;
  /** kill -9 on the command's process group. */
  kill(): Promise<number | string | null>;
}

/** `npm run <script> -- <args>` as a user types it, in a process group of its own. */
export function runNpm(script: string, args?: string[], options?: { env?: Record<string, string> }): NpmRun;

/** Matches the banner `npm run dev` prints once keygate answers. */
export const DEV_BANNER: RegExp;

export interface DevBanner {
  text: string;
  url: string;
  consoleUrl: string;
  email: string;
  /** The password itself when the account was just made, or where to find it. */
  passwordLine: string;
  tenantId: string;
  key: string;
  keyId: string;
  /** The OAuth demo app on the demo origin. */
  oauthDemoUrl: string;
}

export function readDevBanner(text: string): DevBanner;

/** Resolves once nothing listens on `port`. */
export function portReleased(port: number, timeoutMs?: number): Promise<void>;

export interface CurlResult {
  status: number;
  headers: Headers;
  body: Uint8Array;
  sha256: string;
  text(): string;
  json(): any;
}

export function curl(url: string, args?: string[]): Promise<CurlResult>;

export function randomFile(dir: string, bytes: number): Promise<{ path: string; sha256: string }>;

export interface ErrorBody {
  success: false;
  error: { code: string; message: string; details: Record<string, unknown> | null };
  requestId: string;
  status: number;
}

export function errorOf(result: CurlResult): ErrorBody;

/** A port that was free a moment ago on loopback. */
export function freePort(host?: string): Promise<number>;
