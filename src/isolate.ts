import { BlockedClients } from "./guards/throttle";
import { KeyCaches } from "./store/key-store";

/**
 * Everything keygate remembers between requests in one isolate, owned by one object rather than
 * scattered module variables: the key lookup caches and the clients known to be blocked. The
 * worker keeps one; a test can clear it, or build services over a fresh one, to act as a new isolate.
 */
export class IsolateState {
  readonly keyCaches = new KeyCaches();
  readonly blockedClients = new BlockedClients();

  clear(): void {
    this.keyCaches.clear();
    this.blockedClients.clear();
  }
}

/** This isolate's state. */
export const isolate = new IsolateState();
