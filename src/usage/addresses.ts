import { clientAddress } from "../http/client-address";

/**
 * The one rule for client addresses in what keygate stores: with LOG_CLIENT_IPS=false no record
 * keeps one. Every record that could hold an address asks here: a key's events and last use
 * (context.ts), the failures recorded per address (guards/throttle.ts), the audit trail's failed
 * sign-ins (identity/passwords.ts). Counting is not keeping: the attempt counters are still
 * addressed by the client, and hold nothing but times.
 */
export function addressesKept(settings: { logClientIps: boolean }): boolean {
  return settings.logClientIps;
}

/** The client's address for a stored record: null when none may be kept, or none is known. */
export function storedAddress(settings: { logClientIps: boolean }, headers: Headers): string | null {
  return addressesKept(settings) ? clientAddress(headers) : null;
}
