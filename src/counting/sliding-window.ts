import { bucketEnd, bucketWidthMs, type Window, type WindowState } from "../authority/window";

/**
 * Admissions counted as made at `end` (the last ms of their bucket). `stored` is the storage's
 * note of where the entry's latest count lives (a row's slot, a ledger chunk); the window only
 * carries it.
 */
export interface WindowEntry {
  end: number;
  count: number;
  stored: number;
}

/** What changed since the storage last took it: entries to write, or the whole window after re-bucketing. */
export interface WindowChanges {
  rewrite: boolean;
  entries: readonly WindowEntry[];
}

/**
 * A sliding window over admitted requests, in memory only: a request is admitted iff fewer than
 * `limit` admitted requests are counted in `(now - window, now]`. Up to EXACT_LIMIT the count is
 * exact to the millisecond; above it, in buckets of 1/1,000 of the window (see
 * authority/window.ts for the bound). Refused requests are not counted.
 *
 * Storage is the owner's business: it loads entries in, takes what changed (`takeChanges`) when it
 * writes, and may add admissions it cannot rule out (`countReserved`, after a restart).
 *
 * Entries leave memory when they leave the window; after a limit decrease the extra entries are
 * kept until they expire, so raising the limit again within the same window still counts them.
 */
export class SlidingWindow implements Window {
  /** Oldest first, `end` strictly increasing; `entries[head]` is the oldest live one. */
  private entries: WindowEntry[] = [];
  private head = 0;
  /** Requests counted by the live entries. */
  private total = 0;
  /**
   * The bucket width the entries were made with (1: exact); 0 until the first decision, which
   * knows the width and re-buckets what was loaded (a no-op when the width is the same).
   */
  private widthMs = 0;
  private readonly changed = new Set<WindowEntry>();
  /** After re-bucketing, storage rewrites the window whole. */
  private rewrite = false;

  /** `loaded`: stored entries, any order; those ending at or before `countedAfter` are dropped. */
  constructor(loaded: Iterable<WindowEntry> = [], countedAfter = Number.NEGATIVE_INFINITY) {
    const live = [...loaded].filter((entry) => entry.end > countedAfter).sort((a, b) => a.end - b.end);
    for (const entry of live) {
      const newest = this.entries[this.entries.length - 1];
      if (newest && newest.end === entry.end) {
        newest.count = Math.max(newest.count, entry.count);
        continue;
      }
      this.entries.push({ ...entry });
    }
    for (const entry of this.entries) this.total += entry.count;
  }

  /** Entries in memory. */
  get entryCount(): number {
    return this.entries.length - this.head;
  }

  /** Whether anything changed that storage has not taken yet. */
  get dirty(): boolean {
    return this.rewrite || this.changed.size > 0;
  }

  /** Live entries, oldest first. */
  live(): readonly WindowEntry[] {
    return this.entries.slice(this.head);
  }

  /** Counts a request if the window has room; memory only. */
  tryAdmit(now: number, limit: number, windowMs: number): WindowState {
    this.prepare(now, limit, windowMs);
    if (this.total >= limit) return this.state(false, now, limit, windowMs);
    this.count(bucketEnd(now, this.widthMs), 1);
    return this.state(true, now, limit, windowMs);
  }

  /** The window as it stands, without counting anything. */
  peek(now: number, limit: number, windowMs: number): WindowState {
    this.prepare(now, limit, windowMs);
    return this.state(this.total < limit, now, limit, windowMs);
  }

  /** Admissions the window still has room for at `now`. */
  room(now: number, limit: number, windowMs: number): number {
    this.prepare(now, limit, windowMs);
    return Math.max(0, limit - this.total);
  }

  /**
   * Counts `count` admissions as made at `at`, without asking for room: admissions a stored
   * reservation allowed and storage cannot rule out (made at the latest moment it allowed, so they
   * stay counted at least as long as real ones would), in the bucket the window's width puts `at` in.
   */
  countReserved(at: number, count: number, limit: number, windowMs: number): void {
    if (count > 0) this.count(bucketEnd(at, bucketWidthMs(limit, windowMs)), count);
  }

  /** Hands storage what changed since it last took it. */
  takeChanges(): WindowChanges {
    const changes = { rewrite: this.rewrite, entries: this.rewrite ? this.live() : [...this.changed] };
    this.changed.clear();
    this.rewrite = false;
    if (changes.rewrite) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
    return changes;
  }

  private count(end: number, count: number): void {
    const newest = this.entries[this.entries.length - 1];
    if (newest && this.entryCount > 0 && newest.end >= end) {
      // The same bucket, or the clock stepped back: count it at the newest time, which keeps the
      // order and makes it leave later, never earlier, than it should.
      newest.count += count;
      this.changed.add(newest);
    } else {
      const entry = { end, count, stored: -1 };
      this.entries.push(entry);
      this.changed.add(entry);
    }
    this.total += count;
  }

  private prepare(now: number, limit: number, windowMs: number): void {
    this.expire(now, windowMs);
    const widthMs = bucketWidthMs(limit, windowMs);
    if (widthMs !== this.widthMs) this.rebucket(widthMs);
  }

  /**
   * Moves every entry to the end of its bucket at the new width, merging entries that land in the
   * same bucket. An entry only ever moves later (never forgotten early); going to a finer width
   * leaves entries where they are (an exact window then counts each as made at its old end).
   */
  private rebucket(widthMs: number): void {
    this.widthMs = widthMs;
    if (widthMs === 1) return;
    const merged: WindowEntry[] = [];
    let moved = false;
    for (let i = this.head; i < this.entries.length; i++) {
      const entry = this.entries[i]!;
      const end = bucketEnd(entry.end, widthMs);
      const last = merged[merged.length - 1];
      if (last && last.end >= end) {
        last.count += entry.count;
        moved = true;
      } else {
        if (end !== entry.end) moved = true;
        merged.push({ ...entry, end });
      }
    }
    if (!moved) return;
    this.entries = merged;
    this.head = 0;
    this.changed.clear();
    this.rewrite = true;
  }

  private state(admitted: boolean, now: number, limit: number, windowMs: number): WindowState {
    const resetAt = this.total > 0 ? this.nextRelease(limit) + windowMs : now;
    return {
      admitted,
      limit,
      remaining: limit - Math.min(this.total, limit),
      resetAt,
      retryAfterMs: admitted ? 0 : Math.max(0, resetAt - now),
      now,
    };
  }

  /**
   * When `remaining` next grows, minus the window: the end of the entry whose expiry brings the
   * count below the limit (the oldest entry, unless a limit decrease left more than the limit).
   */
  private nextRelease(limit: number): number {
    let toRelease = Math.max(1, this.total - limit + 1);
    for (let i = this.head; i < this.entries.length; i++) {
      const entry = this.entries[i]!;
      toRelease -= entry.count;
      if (toRelease <= 0) return entry.end;
    }
    return this.entries[this.entries.length - 1]!.end;
  }

  /** Drops the entries that have left the window from memory. */
  private expire(now: number, windowMs: number): void {
    const cutoff = now - windowMs;
    while (this.head < this.entries.length && this.entries[this.head]!.end <= cutoff) {
      const gone = this.entries[this.head]!;
      this.total -= gone.count;
      this.changed.delete(gone);
      this.head++;
    }
    // Compact once the dead prefix outweighs the live entries, so memory follows the live count.
    if (this.head > 64 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }
}
