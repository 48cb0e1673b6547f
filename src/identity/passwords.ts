import { clientIp, TooManyAttempts } from "../guards/throttle";
import { fromHex, toHex } from "../keys/hash";
import type { Services } from "../services";
import type { AdminRow, PasswordVerifier } from "../store/admin-repo";
import { insertAuditEvent, type ActorType } from "../store/audit-repo";
import { storedAddress } from "../usage/addresses";

/**
 * Admin passwords: PBKDF2-SHA256 through WebCrypto with a random per-user salt. 100,000
 * iterations is the most Cloudflare's production runtime accepts (local workerd allows more, so
 * a test pins this number).
 */
export const PBKDF2_ITERATIONS = 100_000;
const SALT_BYTES = 16;
const HASH_BITS = 256;

const encoder = new TextEncoder();

async function derive(password: string, salt: Uint8Array, iterations: number): Promise<ArrayBuffer> {
  // NFKC, as NIST SP 800-63B asks: the same password typed on two keyboards must match.
  const material = await crypto.subtle.importKey("raw", encoder.encode(password.normalize("NFKC")), "PBKDF2", false, ["deriveBits"]);
  return crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, material, HASH_BITS);
}

export async function hashPassword(password: string): Promise<PasswordVerifier> {
  const salt = crypto.getRandomValues(new Uint8Array(SALT_BYTES));
  return {
    password_hash: toHex(await derive(password, salt, PBKDF2_ITERATIONS)),
    password_salt: toHex(salt),
    password_iterations: PBKDF2_ITERATIONS,
  };
}

/**
 * Constant-time: both sides are 32-byte digests, as timingSafeEqual requires. Only checkPassword
 * calls this (and verifyNothing) on a request's behalf; they are exported for the timing test.
 */
export async function verifyPassword(password: string, stored: PasswordVerifier): Promise<boolean> {
  const expected = fromHex(stored.password_hash);
  const derived = await derive(password, fromHex(stored.password_salt), stored.password_iterations);
  return expected.byteLength === derived.byteLength && crypto.subtle.timingSafeEqual(derived, expected);
}

/**
 * For an unknown email: the same work as a real check, so the answer takes as long as a wrong
 * password does and timing cannot tell which emails are admins.
 */
const DUMMY: PasswordVerifier = {
  password_hash: "00".repeat(HASH_BITS / 8),
  password_salt: "00".repeat(SALT_BYTES),
  password_iterations: PBKDF2_ITERATIONS,
};

export async function verifyNothing(password: string): Promise<false> {
  await verifyPassword(password, DUMMY);
  return false;
}

/** Where a password is given: the email it is for, its admin if any, the request, and why. */
export interface PasswordAttempt {
  email: string;
  /** The admin the email belongs to; null for an unknown email, which is checked all the same. */
  admin: AdminRow | null;
  client: { headers: Headers; requestId: string };
  /** A sign-in (nobody is signed in yet), or a signed-in admin confirming it (a password change). */
  check: "sign_in" | "password_change";
}

/**
 * The one check of an admin's password, wherever one is given: under the password throttle (every
 * attempt counted first, per email and per client address, guards/throttle.ts), and recorded in the
 * audit trail when it fails (`signin.failed`) and when a throttling block starts
 * (`signin.throttled`), so guessing shows up there. Known and unknown emails take the same path
 * (the counters, one PBKDF2, an audit write when it fails), so neither the answer nor its timing
 * tells which emails are admins. Whether the password is right; the caller says what that means.
 */
export async function checkPassword(services: Services, attempt: PasswordAttempt, password: string): Promise<boolean> {
  const { admin } = attempt;
  let valid: boolean;
  try {
    valid = await services.throttle.guarded(
      { kind: "password", ip: clientIp(attempt.client.headers), email: attempt.email, lastSigninAt: admin?.last_signin_at ?? null },
      () => (admin ? verifyPassword(password, admin) : verifyNothing(password)),
    );
  } catch (error) {
    if (error instanceof TooManyAttempts && error.firstRefusal) {
      await recordFailure(services, attempt, "signin.throttled", { reason: "too_many_attempts", limits: error.limits, retry_after_seconds: error.retryAfterSeconds });
    }
    throw error;
  }
  if (!valid) await recordFailure(services, attempt, "signin.failed", { reason: "invalid_credentials" });
  return valid;
}

/**
 * An audit event for a password that was not accepted, filed under the email it was given for.
 * The actor is the signed-in admin for a password change; for a sign-in, the client, by its
 * address when addresses may be kept (`unknown` otherwise).
 */
async function recordFailure(services: Services, attempt: PasswordAttempt, action: string, details: Record<string, unknown>): Promise<void> {
  const ip = storedAddress(services.config, attempt.client.headers);
  const actor: { type: ActorType; id: string } =
    attempt.check === "password_change" && attempt.admin ? { type: "admin", id: attempt.admin.id } : { type: "client", id: ip ?? "unknown" };
  const event = {
    actorType: actor.type,
    actorId: actor.id,
    action,
    resourceType: "signin" as const,
    resourceId: attempt.email,
    tenantId: null,
    requestId: attempt.client.requestId,
    details: { email: attempt.email, ...(ip === null ? {} : { ip }), check: attempt.check, ...details },
  };
  await insertAuditEvent(services.db, event, services.clock.now()).run();
}
