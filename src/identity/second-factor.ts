import type { Config } from "../config";
import type { Services } from "../services";
import { getTotp, spendRecoveryCode, takeTotpStep } from "../store/factor-repo";
import { guardedCheck, type Attempt, type Factor } from "./attempts";
import { hashRecoveryCode, isRecoveryCode } from "./recovery-codes";
import { open, seal } from "./secret-box";
import { isTotpCode, matchingStep } from "./totp";

/** What the TOTP secrets are sealed for (secret-box.ts). */
const TOTP_PURPOSE = "totp-secret";

/** What an admin's TOTP secret is stored as; JWT_SECRET is checked before (assertTokensConfigured). */
export function sealTotpSecret(config: Config, adminId: string, secret: string): Promise<string> {
  return seal(config.jwtSecret!, TOTP_PURPOSE, adminId, secret);
}

/** The admin's TOTP secret, or null if it cannot be read (JWT_SECRET changed since it was stored). */
export function openTotpSecret(config: Config, adminId: string, sealed: string): Promise<string | null> {
  return open(config.jwtSecret!, TOTP_PURPOSE, adminId, sealed);
}

/** Which factor a typed code is: six digits are a TOTP code; anything else may be a recovery code. */
export function codeFactor(code: string): Factor {
  return isTotpCode(code) ? "totp" : "recovery_code";
}

/**
 * Checks a code from the admin's authenticator app or one of their recovery codes, as every
 * secret is checked (attempts.ts: throttled, a failure audited). A TOTP code is accepted once: its
 * time step is taken in the same check, so a code seen again (or one older than the last
 * accepted) fails; a recovery code is spent. The admin must be known (attempt.admin).
 */
export async function checkCode(services: Services, attempt: Attempt, code: string): Promise<Factor | null> {
  const admin = attempt.admin!;
  const factor = codeFactor(code);
  const valid = await guardedCheck(services, attempt, factor, async () => {
    const now = services.clock.now();
    if (factor === "totp") {
      const totp = await getTotp(services.db, admin.id);
      if (!totp || totp.confirmed_at === null) return false;
      const secret = await openTotpSecret(services.config, admin.id, totp.secret);
      if (secret === null) return false;
      const step = await matchingStep(secret, code, now);
      return step !== null && (await takeTotpStep(services.db, admin.id, step, null));
    }
    return isRecoveryCode(code) && (await spendRecoveryCode(services.db, admin.id, await hashRecoveryCode(code), now));
  });
  return valid ? factor : null;
}

/** OpenID Connect's amr value for each factor (RFC 8176). */
export const AMR: Record<Factor, string> = { password: "pwd", totp: "otp", recovery_code: "otp", passkey: "hwk" };
