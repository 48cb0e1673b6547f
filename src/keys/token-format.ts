import { CHECKSUM_LENGTH, checksumHolds, TAIL_PATTERN, withChecksum } from "./format";
import { randomBase62 } from "./random";

// The OAuth credentials keygate issues, in the keys' own format with another marker in place of
// the environment: `<prefix>_at_<body><checksum>` (an access token), `_rt_` (a refresh token),
// `_ac_` (an authorization code), `_cs_` (a confidential client's secret). The body is 32 base62
// characters (190 bits); the checksum is a key's, so a secret scanner recognises each of them and
// the gateway refuses a typo or a forgery without any I/O. A marker is never `live` or `test`, so
// no token parses as a key, and no key as a token.

/** What each kind of token is marked with. */
export const TOKEN_MARKERS = {
  access: "at",
  refresh: "rt",
  code: "ac",
  clientSecret: "cs",
} as const;
export type TokenKind = keyof typeof TOKEN_MARKERS;

const BODY_LENGTH = 32;

export function generateToken(prefix: string, kind: TokenKind): string {
  return withChecksum(`${prefix}_${TOKEN_MARKERS[kind]}_${randomBase62(BODY_LENGTH)}`);
}

/** Shape, prefix, marker and checksum of a `kind` token. Pure: no I/O. */
export function isWellFormedToken(candidate: string, prefix: string, kind: TokenKind): boolean {
  const head = `${prefix}_${TOKEN_MARKERS[kind]}_`;
  if (candidate.length !== head.length + BODY_LENGTH + CHECKSUM_LENGTH || !candidate.startsWith(head)) return false;
  return TAIL_PATTERN.test(candidate.slice(head.length)) && checksumHolds(candidate);
}
