import type { KeyPolicy } from "../store/records";

/** The stub of a key's Durable Object; keyed by key id, so a rotated key starts a fresh window. */
export function keyGuard(env: Env, keyId: string) {
  return env.KEY_GUARD.getByName(keyId);
}

/** Failed-authentication counters, one object per client (`ip:…`) or sign-in subject. */
export function attemptGuard(env: Env, name: string) {
  return env.ATTEMPT_GUARD.getByName(name);
}

/** Admin write-through: returns once the key's object has stored the change. */
export async function writeKeyPolicy(
  env: Env,
  keyId: string,
  change: Partial<KeyPolicy>,
  snapshot: KeyPolicy,
  tenantVersion?: number,
): Promise<void> {
  await keyGuard(env, keyId).update(change, snapshot, tenantVersion);
}
