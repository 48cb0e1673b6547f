import { fromHex, toHex } from "../keys/hash";
import type { Services } from "../services";
import type { PasswordVerifier } from "../store/admin-repo";
import { guardedCheck, type Attempt } from "./attempts";

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

/** The checks an admin's secret goes through: the same throttle and audit for each (identity/attempts.ts). */
export async function checkPassword(services: Services, attempt: Attempt, password: string): Promise<boolean> {
  const { admin } = attempt;
  return guardedCheck(services, attempt, "password", () => (admin && hasPassword(admin) ? verifyPassword(password, admin) : verifyNothing(password)));
}

/**
 * Whether the admin has a password at all: one made by single sign-on has none (an empty
 * verifier, which no password matches; the check still does the same work).
 */
export function hasPassword(admin: PasswordVerifier): boolean {
  return admin.password_hash !== "";
}

/** The verifier of an admin without a password (see hasPassword). */
export const NO_PASSWORD: PasswordVerifier = { password_hash: "", password_salt: "00".repeat(SALT_BYTES), password_iterations: PBKDF2_ITERATIONS };
