/**
 * The rules for keygate's settings that hold wherever a setting is read: by the worker
 * (src/config.ts), at `npm run dev`'s start and before `npm run deploy` (scripts/settings-checks.mjs).
 * Node runs this file as it is, its types stripped: it imports nothing and uses only syntax that
 * erases (no enums, namespaces or parameter properties).
 */

/** The secrets keygate reads: `wrangler secret put` in production, .dev.vars on this machine. */
export const SECRET_NAMES = ["ADMIN_TOKEN", "JWT_SECRET", "ORIGIN_SIGNING_SECRET"] as const;
export type SecretName = (typeof SECRET_NAMES)[number];

/**
 * Secrets of optional features: never in wrangler.toml or the deployment's vars, set with
 * `wrangler secret put` when the feature is used (single sign-on's client secret).
 */
export const OPTIONAL_SECRET_NAMES = ["OIDC_CLIENT_SECRET"] as const;

/**
 * A secret must not be guessable: as long as a random 32-character token at the least, which is
 * also what HS256 wants of its key (RFC 7518 §3.2). The deploy refuses every shorter secret.
 */
export const MIN_SECRET_LENGTH = 32;

/**
 * The secrets the worker itself refuses when shorter (the admin API's root token, the key of the
 * admins' sign-in tokens), so `npm run dev` refuses them too; of the others it only warns.
 */
export const LENGTH_CHECKED_SECRETS: readonly SecretName[] = ["ADMIN_TOKEN", "JWT_SECRET"];

/** Too short to be a secret: the worker refuses such a value of LENGTH_CHECKED_SECRETS, the deploy any. */
export function tooShortSecret(value: string): boolean {
  return value.length < MIN_SECRET_LENGTH;
}

/** The values in .dev.vars.example all start so; copied unchanged, they are no secret at all. */
const EXAMPLE_PLACEHOLDER = /^change-me/i;

/**
 * ORIGIN_URL and ORIGIN_URL_TEST: empty (or absent) means not set; anything else must be an
 * http(s) URL. `problem` completes "ORIGIN_URL …".
 */
export function readOriginUrl(raw: string | undefined): { url: URL | null; problem: string | null } {
  const value = (raw ?? "").trim();
  if (value === "") return { url: null, problem: null };
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { url: null, problem: "must be an http(s) URL" };
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return { url: null, problem: "must be an http(s) URL" };
  return { url, problem: null };
}

/** This machine's names, where a browser treats plain http as secure enough (no `Secure` cookies needed). */
export function isLoopbackHost(hostname: string): boolean {
  return hostname === "127.0.0.1" || hostname === "localhost" || hostname === "[::1]";
}

/**
 * Why a deployed keygate could never reach `url`, or null: Cloudflare's network cannot connect to
 * this machine or to a private network. The answer completes "ORIGIN_URL is <url>, …".
 */
export function unreachableFromCloudflare(url: URL): string | null {
  const host = url.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  if (host === "localhost" || host.endsWith(".localhost") || host === "::1" || host === "::") return "an address on this machine";
  const v4 = /^(\d{1,3})\.(\d{1,3})\.\d{1,3}\.\d{1,3}$/.exec(host.replace(/^::ffff:/, ""));
  if (v4) {
    const [a, b] = [Number(v4[1]), Number(v4[2])];
    if (a === 127 || a === 0) return "an address on this machine";
    if (a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254)) {
      return "an address on a private network";
    }
  }
  if (/^f[cd][0-9a-f]{2}:/.test(host) || /^fe[89ab][0-9a-f]:/.test(host)) return "an address on a private network";
  return null;
}

/**
 * What is wrong with a secret's value, or null. The answer completes "ADMIN_TOKEN …".
 */
export function weakSecret(value: string): string | null {
  if (EXAMPLE_PLACEHOLDER.test(value)) return "is the placeholder from .dev.vars.example";
  if (tooShortSecret(value)) return `is only ${value.length} characters long (at least ${MIN_SECRET_LENGTH} are needed)`;
  return null;
}
