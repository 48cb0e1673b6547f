import type { Environment } from "../authority/key";
import { crc32 } from "./crc32";
import { base62Fixed, randomBase62 } from "./random";

// The key format, in one place: `<prefix>_<live|test>_<body><checksum>`. The body is 22 base62
// characters (131 bits); the checksum is the CRC32 of everything before it in 6 base62 characters,
// so a typo or a forged key is refused without touching KV or D1.

export const MAX_KEY_LENGTH = 256;
const BODY_LENGTH = 22;
/** Every credential keygate issues ends in a checksum this long (see withChecksum). */
export const CHECKSUM_LENGTH = 6;
/** What follows a credential's marker: its body and checksum, base62. */
export const TAIL_PATTERN = /^[0-9A-Za-z]+$/;

export interface ParsedKey {
  environment: Environment;
}

export function generateKey(prefix: string, environment: Environment): string {
  return withChecksum(`${prefix}_${environment}_${randomBase62(BODY_LENGTH)}`);
}

/** `unchecked` followed by its checksum: every credential keygate issues ends this way. */
export function withChecksum(unchecked: string): string {
  return unchecked + base62Fixed(crc32(unchecked), CHECKSUM_LENGTH);
}

/** Whether the last characters of `candidate` are the checksum of the rest (no I/O). */
export function checksumHolds(candidate: string): boolean {
  const checked = candidate.slice(0, candidate.length - CHECKSUM_LENGTH);
  return base62Fixed(crc32(checked), CHECKSUM_LENGTH) === candidate.slice(-CHECKSUM_LENGTH);
}

/** Shape, prefix and checksum; null when the key cannot be one of ours. Pure: no I/O. */
export function parseKey(candidate: string, prefix: string): ParsedKey | null {
  if (candidate.length > MAX_KEY_LENGTH) return null;
  const envStart = prefix.length + 1;
  if (candidate.charCodeAt(prefix.length) !== 95 /* _ */ || !candidate.startsWith(prefix)) return null;
  const environment = candidate.slice(envStart, envStart + 4);
  if ((environment !== "live" && environment !== "test") || candidate.charCodeAt(envStart + 4) !== 95) return null;
  const tail = candidate.slice(envStart + 5);
  if (tail.length < BODY_LENGTH + CHECKSUM_LENGTH || !TAIL_PATTERN.test(tail)) return null;
  if (!checksumHolds(candidate)) return null;
  return { environment };
}

/** `parseKey` as a yes/no test, for code that only needs to know whether a string could be a key. */
export function isWellFormedKey(candidate: string, prefix: string): boolean {
  return parseKey(candidate, prefix) !== null;
}

/** What lists and logs may show: `kg_live_ab12…9xYz` (prefix, environment, 4 + last 4 characters). */
export function displayForm(key: string, prefix: string): string {
  const head = prefix.length + 1 + 5 + 4;
  return `${key.slice(0, head)}…${key.slice(-4)}`;
}
