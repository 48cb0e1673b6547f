import { BlockedClients } from "./guards/throttle";
import { KeyCaches } from "./store/key-store";
import { TokenCaches } from "./store/token-store";

/**
 * Everything keygate remembers between requests in one isolate, owned by one object rather than
 * scattered module variables: the key and access token lookup caches and the clients known to be blocked. The
 * worker keeps one; a test can clear it, or build services over a fresh one, to act as a new isolate.
 */
export class IsolateState {
  readonly keyCaches = new KeyCaches();
  readonly tokenCaches = new TokenCaches();
  readonly blockedClients = new BlockedClients();

  clear(): void {
    this.keyCaches.clear();
    this.tokenCaches.clear();
    this.blockedClients.clear();
  }
}

/** This isolate's state. */
export const isolate = new IsolateState();
