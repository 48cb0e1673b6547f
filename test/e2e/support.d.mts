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
