import type { Environment } from "../authority/key";
import type { VerdictCode } from "../authority/verdicts";
import type { LimitInfo, RateLimitInfo } from "../http/ratelimit-headers";

// A file of its own that names nothing of the worker's runtime: the `keygate` package's
// declarations (scripts/build-package.mjs) are built from it.

/** What verify answers, over HTTP and RPC alike. */
export interface VerifyResult {
  valid: boolean;
  /**
   * `valid`, or the code the gateway would refuse the same request with; over RPC also
   * `invalid_request` (with `message`) when the input itself is malformed.
   */
  code: VerdictCode | "invalid_request";
  message?: string;
  /** The key's id, or for an access token its grant's (`grt_…`). */
  key_id: string | null;
  tenant_id: string | null;
  environment: Environment | null;
  scopes: string[];
  /** For an OAuth access token: the app it was issued to (null for a key). */
  client_id: string | null;
  /** For an access token of a user's grant: the user's subject id (null for a key and for client_credentials). */
  subject: string | null;
  /** The scopes the request needed that the key lacks (for insufficient_permissions). */
  missing_scopes: string[];
  /** The key's tightest window after this call; null when the key may not be used at all. */
  ratelimit: RateLimitInfo | null;
  /** Every limit of the key after this call (its windows, `credits`, the tenant's `project` quota); empty when it may not be used at all. */
  limits: LimitInfo[];
  /** For a refusal by a limit: seconds until asking again can help (null: not by waiting). */
  retry_after: number | null;
}
