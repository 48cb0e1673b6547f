import { ATTEMPT_RETENTION_MS } from "./buckets";
import { EventRing } from "./event-ring";
import { HourlyCounts } from "./hourly-counts";

/** The last this many failures are kept per client address. */
export const ATTEMPT_EVENTS = 100;

/** A failure as the client's attempt object stores it: never the key, at most its display form. */
export type AttemptEventRow = {
  at: number;
  /** What the client was answered: invalid_key, revoked_key, expired_key, invalid_token, or too_many_failed_attempts once blocked. */
  code: string;
  path: string | null;
  /** The key's display form (`kg_live_ab12…9xYz`) when the credential was a well-formed key. */
  display: string | null;
};

/** What the worker tells the attempt object about a failure it counts. */
export interface AttemptDetail {
  path: string | null;
  display: string | null;
}

/** How stale the stored attempts may get: counted in memory, written at most this often. */
export const ATTEMPT_FLUSH_MS = 1_000;

/**
 * What a client address's failed authentications were: hourly counts by code for 7 days (at most
 * 169 rows) and the last 100 failures. Counted in memory and written by the attempt object at most
 * once a second (one address's object takes every failure of a flood, so a write per failure would
 * be its bottleneck).
 */
export class AttemptLog {
  readonly hours: HourlyCounts;
  readonly events: EventRing<AttemptEventRow>;

  constructor(sql: SqlStorage) {
    this.hours = new HourlyCounts(sql, "attempt_hours", ATTEMPT_RETENTION_MS);
    this.events = new EventRing(sql, "attempt_event_chunks", ATTEMPT_EVENTS);
  }

  /** Counts one failure, in memory. */
  record(at: number, code: string, detail: AttemptDetail): void {
    this.hours.add(at, code);
    this.events.push({ at, code, path: detail.path, display: detail.display });
  }

  flush(): void {
    this.hours.flush();
    this.events.flush();
  }
}
