import type { Config } from "../config";
import { ApiError } from "../http/errors";
import { attemptGuard } from "../ratelimit/guard-client";
import { retryAfterSeconds } from "../ratelimit/headers";
import { IsolateCache } from "../store/isolate-cache";

/**
 * Failed authentications are limited per client IP. The IP's Durable Object counts them; once it
 * refuses, this isolate remembers until when, so a blocked prober costs no I/O at all.
 */
const blockedUntil = new IsolateCache<number>(10_000, 3_600_000);

/**
 * The client whose failures are counted together. An IPv6 client usually owns a whole /64 and can
 * pick a fresh address per request, so IPv6 addresses are grouped by their /64; IPv4 (also when
 * mapped into IPv6) counts per address. Without the header (not behind Cloudflare), or with
 * anything in it that is not an address, everyone shares one bucket: a made-up value must not buy
 * a fresh budget.
 */
export function clientIp(request: Request): string {
  const raw = request.headers.get("cf-connecting-ip")?.trim().toLowerCase();
  if (!raw) return "unknown";
  if (IPV4.test(raw)) return raw;
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(raw);
  if (mapped) return mapped[1]!;
  return ipv6Network(raw) ?? "unknown";
}

const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;

/** The counter's object: its own namespace, so no client value can name a sign-in counter. */
export function attemptBucket(ip: string): string {
  return `ip:${ip}`;
}

/** `2001:db8:1:2:…` -> `2001:db8:1:2::/64`; null if it is not an IPv6 address. */
function ipv6Network(address: string): string | null {
  const halves = address.split("::");
  if (halves.length > 2) return null;
  const groups = (part: string | undefined) => (part ? part.split(":") : []);
  const head = groups(halves[0]);
  const tail = groups(halves[1]);
  // A trailing dotted IPv4 part stands for two groups, and only the first four groups matter.
  const tailLength = tail.length + (tail.at(-1)?.includes(".") ? 1 : 0);
  const missing = 8 - head.length - tailLength;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const full = [...head, ...Array<string>(Math.max(0, missing)).fill("0"), ...tail];
  const network = full.slice(0, 4);
  if (!network.every((group) => /^[0-9a-f]{1,4}$/.test(group))) return null;
  return `${network.map((group) => parseInt(group, 16).toString(16)).join(":")}::/64`;
}

export function assertNotBlocked(ip: string, now = Date.now()): void {
  const until = blockedUntil.get(ip, now);
  if (until !== undefined && until > now) throw tooManyAttempts(until - now);
}

/** Counts one failure; returns the error to answer with (the 401, or a 429 once over the limit). */
export async function failedAttempt(env: Env, config: Config, ip: string, failure: ApiError): Promise<ApiError> {
  try {
    const window = await attemptGuard(env, attemptBucket(ip)).recordAttempt(config.failedAuth.limit, config.failedAuth.windowSeconds);
    if (window.admitted) return failure;
    blockedUntil.set(ip, window.now + window.retryAfterMs);
    return tooManyAttempts(window.retryAfterMs);
  } catch (error) {
    // The request is refused either way; a counting fault must not turn a 401 into a 503.
    console.error("keygate: failed-attempt counter unavailable", error);
    return failure;
  }
}

function tooManyAttempts(retryAfterMs: number): ApiError {
  return new ApiError("too_many_failed_attempts", "Too many failed authentication attempts from this client; try again later.", null, {
    "retry-after": String(retryAfterSeconds(retryAfterMs)),
  });
}
