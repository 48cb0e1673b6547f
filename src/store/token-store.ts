import { recordOf, type KeyRecord } from "../authority/key";
import { grantRecord } from "../authority/oauth";
import type { Clock } from "../clock";
import { HashLookup, LookupCaches } from "./hash-lookup";
import { getToken } from "./oauth-token-repo";

/**
 * What the gateway needs of an access token: its own expiry (which never changes, so a cached copy
 * can be believed), who it acts for, and its grant as a key's record (the grant's id addresses the
 * object that decides, and its policy seeds an object that was never written).
 */
export interface AccessTokenRecord {
  grant: KeyRecord;
  clientId: string;
  subject: string | null;
  expiresAt: number;
}

export class TokenCaches extends LookupCaches<AccessTokenRecord> {}

/** An access token by its hash (see hash-lookup.ts): KV entries `tok:<hash>`. Refresh tokens are never looked up here. */
export class TokenStore extends HashLookup<AccessTokenRecord> {
  constructor(env: Env, caches: TokenCaches, clock: Clock, waitUntil: (work: Promise<unknown>) => void) {
    super(env, caches, clock, waitUntil, {
      what: "access token",
      kvPrefix: "tok:",
      load: async (db, hash) => {
        const token = await getToken(db, hash);
        if (!token || token.kind !== "access") return null;
        return { grant: grantRecord(token.grant), clientId: token.clientId, subject: token.grant.subject, expiresAt: token.expiresAt };
      },
      cached: ({ grant, clientId, subject, expiresAt }) => ({ grant: recordOf(grant), clientId, subject, expiresAt }),
    });
  }
}
