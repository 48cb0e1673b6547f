/**
 * Reservations stored ahead of the admissions they cover: how a counter decides in memory, replies
 * at once, and still never over-admits across a restart.
 *
 * A reservation is a stored promise about the future: "after what storage already records, at
 * most `admissions` more admissions, none later than `until`". An admission inside it is decided in
 * memory and replied to before anything about it is written. An admission outside it (none left,
 * or past `until`) is written, with the next reservation, before its reply: that reply alone waits
 * for storage. A counter that starts counts every admission its stored reservation allowed as made
 * at `until`, the latest moment allowed, so each stays counted at least as long as a real one
 * would: a restart can forget nothing, and what it can cost is bounded by the reservation's size.
 *
 * Sizing is a trade between replies that wait (a small reservation runs out often) and what a
 * restart may cost (a big one counts more unmade admissions): see `nextReservation`.
 */
export interface Reservation {
  admissions: number;
  /** Cost units the admissions may spend together (credits, a quota's lease); null: none of those limits applies. */
  units: number | null;
  until: number;
}

export const NO_RESERVATION: Reservation = { admissions: 0, units: 0, until: 0 };

/**
 * The most of any window's limit a reservation may hold: a restart can cost at most this share of
 * a window (a key whose limit is under 20 never reserves ahead, so it loses nothing).
 */
export const MAX_SHARE = 0.05;
/** A busy key's reservation covers about this long at its recent rate: renewed by its once-a-second write before it runs out. */
export const COVER_MS = 2_000;
/** A quiet key's reservation covers at least this many admissions, so it waits once per several. */
export const QUIET_ADMISSIONS = 4;
/**
 * No reservation outlives this (bounded further by the window: see `nextReservation`). Short
 * enough that a key falling quiet releases what it did not use (a write of its own) before an idle
 * object is evicted (after 10 s locally, 70 s or more on Cloudflare), so eviction costs nothing;
 * long enough that a key used every few seconds waits once per several admissions.
 */
export const MAX_HORIZON_MS = 8_000;
/** Nor ends sooner than this. */
export const MIN_HORIZON_MS = 1_000;

/** A window's limit, length and room, as the reservation sees it. */
export interface WindowRoom {
  limit: number;
  windowMs: number;
  room: number;
}

/**
 * The reservation to store now, after the admissions already recorded, from the key's recent rate
 * (`perSecond`, see ArrivalRate): none when the next admission is not expected within
 * MAX_HORIZON_MS (each of a quiet key's admissions is then written before its reply, and nothing
 * is ever left reserved); otherwise as many admissions as that rate makes likely over COVER_MS,
 * and at least QUIET_ADMISSIONS when that many are expected within MAX_HORIZON_MS; never more than
 * any window has room for nor MAX_SHARE of any window's limit. It lasts until they would be used at
 * that rate, between MIN_HORIZON_MS and MAX_HORIZON_MS and no longer than the shortest window, so
 * unmade admissions counted at `until` weigh on at most one window more.
 */
export function nextReservation(now: number, perSecond: number, windows: readonly WindowRoom[], units: UnitRoom): Reservation {
  if (windows.length === 0 || perSecond <= 0) return NO_RESERVATION;
  const withinHorizon = (perSecond * MAX_HORIZON_MS) / 1000;
  if (withinHorizon < 1) return NO_RESERVATION;
  let cap = Number.POSITIVE_INFINITY;
  let shortestMs = Number.POSITIVE_INFINITY;
  for (const window of windows) {
    cap = Math.min(cap, window.room, Math.floor(window.limit * MAX_SHARE));
    shortestMs = Math.min(shortestMs, window.windowMs);
  }
  if (cap < 1) return NO_RESERVATION;
  const likely = Math.ceil((perSecond * COVER_MS) / 1000);
  const admissions = Math.min(cap, Math.max(likely, Math.min(QUIET_ADMISSIONS, Math.floor(withinHorizon))));
  const lastsMs = (admissions / perSecond) * 1000;
  const horizonMs = Math.min(Math.max(lastsMs, MIN_HORIZON_MS), MAX_HORIZON_MS, Math.max(MIN_HORIZON_MS, shortestMs));
  const until = Math.min(now + Math.round(horizonMs), units.notAfter - 1);
  if (until < now) return NO_RESERVATION;
  if (units.available === null) return { admissions, units: null, until };
  return { admissions, units: Math.min(units.available, Math.ceil(admissions * units.perAdmission)), until };
}

/**
 * The cost units a reservation may cover: what the key's credits and its lease of the tenant's
 * quota leave (null when neither applies), about `perAdmission` per admission, and never past
 * `notAfter` (a refill or the quota's new period: units reserved in one period never reach into
 * the next).
 */
export interface UnitRoom {
  available: number | null;
  perAdmission: number;
  notAfter: number;
}

/** Whether the reservation still covers one more admission of `units` at `now`, `used` of it being spent. */
export function covers(reservation: Reservation, used: { admissions: number; units: number }, now: number, units: number): boolean {
  if (now > reservation.until || used.admissions >= reservation.admissions) return false;
  return reservation.units === null || used.units + units <= reservation.units;
}
