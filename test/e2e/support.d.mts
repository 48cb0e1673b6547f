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
  createAdmin(fields: { email: string; password: string; role: "owner" | "admin" | "viewer" }): Promise<{ id: string; email: string; role: string }>;
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
  stop(): Promise<void>;
}

export function startKeygate(options?: { vars?: Record<string, string> }): Promise<Keygate>;

export interface LocalState {
  dir: string;
  /** wrangler's --persist-to: local D1, KV and Durable Objects. */
  persistTo: string;
  /** The secrets file (as .dev.vars). */
  devVarsPath: string;
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

/** keygate on `state` as release 0.1.0's `npm run dev` started it: schema.sql as a plain file, no migrations recorded. */
export function startAsReleaseZero(state: LocalState): Promise<Running & { adminToken: string }>;

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

/** The hono-api example (served) and keygate (behind its service binding) in one wrangler dev, on `state`. */
export function startHonoApiOn(state: LocalState): Promise<{ url: string; stop(): Promise<void>; logs(): string }>;

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
