import { hashKey } from "../keys/hash";

/**
 * One-time recovery codes: ten per admin with a second factor, shown once, kept as SHA-256 (each
 * carries 50 random bits, so a fast hash is enough and the attempt limits do the rest). Written
 * `abcde-fghij`; given back, case, spaces and dashes do not matter.
 */
export const RECOVERY_CODE_COUNT = 10;
const ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"; // 32 letters and digits, none easily misread
const CODE_LENGTH = 10;

export function newRecoveryCodes(): string[] {
  return Array.from({ length: RECOVERY_CODE_COUNT }, () => {
    const bytes = crypto.getRandomValues(new Uint8Array(CODE_LENGTH));
    const code = Array.from(bytes, (b) => ALPHABET[b & 31]).join("");
    return `${code.slice(0, 5)}-${code.slice(5)}`;
  });
}

function normalized(code: string): string {
  return code.toLowerCase().replace(/[\s-]/g, "");
}

/** Whether `code` has a recovery code's shape. */
export function isRecoveryCode(code: string): boolean {
  return new RegExp(`^[${ALPHABET}]{${CODE_LENGTH}}$`).test(normalized(code));
}

export function hashRecoveryCode(code: string): Promise<string> {
  return hashKey(`recovery:${normalized(code)}`);
}
