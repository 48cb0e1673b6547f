/**
 * Bounds every API of keygate shares, so the admin API and the OAuth endpoints cannot drift apart.
 */

/** The largest request body keygate reads (counted as it streams, so a chunked body is bounded too). */
export const MAX_BODY_BYTES = 64 * 1024;

/** A name people give something (a tenant, a key, an app): shown back to people, never parsed. */
export const MAX_NAME_LENGTH = 200;
