import type { KeyPolicy, KeyStatus } from "./key";

/**
 * A key's status and how it may change, in one place. Two words are easy to confuse here:
 * - *terminal*: revoked and deleted. No transition leads out of them, so a cache that says a key
 *   is revoked or deleted can be believed without asking the key's object.
 * - *unusable* (a verdict, see verdicts.ts): the key may not make any request right now, which
 *   also covers expired keys and suspended tenants, both of which can come back.
 */
export function isTerminal(status: KeyStatus): boolean {
  return status !== "active";
}

/** The stored status from the row's times: deleted wins over revoked. */
export function statusFromTimes(revokedAt: number | null, deletedAt: number | null): KeyStatus {
  if (deletedAt !== null) return "deleted";
  if (revokedAt !== null) return "revoked";
  return "active";
}

/** What the API shows and filters by: the stored status, with expiry read off the clock. */
export const KEY_STATES = ["active", "expired", "revoked", "deleted"] as const;
export type KeyState = (typeof KEY_STATES)[number];

export function keyState(key: Pick<KeyPolicy, "status" | "expiresAt">, now: number): KeyState {
  if (key.status !== "active") return key.status;
  return isExpired(key.expiresAt, now) ? "expired" : "active";
}

/** An expiry is the first instant the key no longer works. */
export function isExpired(expiresAt: number | null, now: number): boolean {
  return expiresAt !== null && expiresAt <= now;
}

/**
 * The one transition rule: nothing brings a revoked or deleted key back, though a revoked key may
 * still be deleted. Any other requested status is taken as asked.
 */
export function nextStatus(current: KeyStatus, requested: KeyStatus | undefined): KeyStatus {
  if (!requested || current === "deleted") return current;
  if (current === "revoked") return requested === "deleted" ? "deleted" : "revoked";
  return requested;
}

/** Why a key's settings may not be changed or the key rotated; null when they may. */
export function changeRefusal(status: KeyStatus): "deleted" | "revoked" | null {
  return status === "active" ? null : status;
}

/** A key is rotated once, while it is active: its one successor, claimed by its object. */
export function mayRotate(key: { status: KeyStatus; rotatedTo?: string | null }): boolean {
  return changeRefusal(key.status) === null && !key.rotatedTo;
}

/** Revoking is final for an active or revoked key (repeating it repairs an object that missed it); a deleted key stays deleted. */
export function revokeRefusal(status: KeyStatus): "deleted" | null {
  return status === "deleted" ? "deleted" : null;
}
