import { clientIp, TooManyAttempts } from "../guards/throttle";
import type { Services } from "../services";
import type { AdminRow } from "../store/admin-repo";
import { auditStatement, signinResource, type Actor } from "../store/audit-trail";
import { storedAddress } from "../usage/addresses";

/** What is given to prove who an admin is. */
export type Factor = "password" | "totp" | "recovery_code" | "passkey";

/** Where a secret is given: the email it is for, its admin if any, the request, and why. */
export interface Attempt {
  email: string;
  /** The admin the email belongs to; null for an unknown email, which is checked all the same. */
  admin: AdminRow | null;
  client: { headers: Headers; requestId: string };
  /**
   * A sign-in (nobody is signed in yet, or the second step of one), a signed-in admin confirming
   * a password change, or a step-up before a sensitive action.
   */
  check: "sign_in" | "password_change" | "step_up";
}

/**
 * The one way an admin's secret is checked, whatever it is (a password, a TOTP or recovery code, a
 * passkey): under the password throttle (every attempt counted first, per email and per client
 * address, guards/throttle.ts), and recorded in the audit trail when it fails (`signin.failed`) and
 * when a throttling block starts (`signin.throttled`), so guessing shows up there. Known and
 * unknown emails take the same path. Whether the secret is right; the caller says what that means.
 */
export async function guardedCheck(services: Services, attempt: Attempt, factor: Factor, check: () => Promise<boolean>): Promise<boolean> {
  const { admin } = attempt;
  let valid: boolean;
  try {
    valid = await services.throttle.guarded(
      { kind: "password", ip: clientIp(attempt.client.headers), email: attempt.email, lastSigninAt: admin?.last_signin_at ?? null },
      check,
    );
  } catch (error) {
    if (error instanceof TooManyAttempts && error.firstRefusal) {
      await recordFailure(services, attempt, factor, "signin.throttled", { reason: "too_many_attempts", limits: error.limits, retry_after_seconds: error.retryAfterSeconds });
    }
    throw error;
  }
  if (!valid) await recordFailure(services, attempt, factor, "signin.failed", { reason: "invalid_credentials" });
  return valid;
}

/**
 * An audit event for a secret that was not accepted, filed under the email it was given for; a
 * single sign-on refused before its provider named an email is filed under `sso`.
 * The actor is the signed-in admin for a password change or a step-up; for a sign-in, the
 * client, by its address when addresses may be kept (`unknown` otherwise).
 */
export async function recordFailure(
  services: Services,
  attempt: Omit<Attempt, "email"> & { email: string | null },
  factor: Factor | "sso",
  action: string,
  details: Record<string, unknown>,
): Promise<void> {
  const { email, client } = attempt;
  const ip = storedAddress(services.config, client.headers);
  const actor: Actor =
    attempt.check !== "sign_in" && attempt.admin
      ? { type: "admin", id: attempt.admin.id, requestId: client.requestId }
      : { type: "client", id: ip ?? "unknown", requestId: client.requestId };
  const recorded = { ...(email === null ? {} : { email }), ...(ip === null ? {} : { ip }), check: attempt.check, ...(factor === "password" ? {} : { factor }), ...details };
  await auditStatement(services.db, actor, action, signinResource(email ?? "sso"), services.clock.now(), recorded).run();
}
