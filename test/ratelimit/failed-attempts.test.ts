import { env } from "cloudflare:workers";
import { listDurableObjectIds, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { systemClock } from "../../src/clock";
import { attemptBucket, clientIp } from "../../src/guards/throttle";
import { hashKey } from "../../src/keys/hash";
import { generateKey } from "../../src/keys/format";
import type { AttemptGuard } from "../../src/guards/attempt-guard";
import { admin, createKey, errorOf, gateway, uniqueIp, withKey } from "../support/client";
import { runDueWrite, writeThroughKeyGuard } from "./support";

// Default: 30 failed authentications per client per minute (vitest.config.ts sets no override).

const unknownKey = () => generateKey("kg", "live");

/** A key of the right shape whose checksum is wrong: refused before any lookup. */
function badChecksum(): string {
  const key = unknownKey();
  const last = key.at(-1) === "a" ? "b" : "a";
  return key.slice(0, -1) + last;
}

async function attempt(key: string, ip: string): Promise<{ status: number; code: string | null; retryAfter: string | null }> {
  const res = await gateway("/probe", withKey(key, ip));
  const retryAfter = res.headers.get("retry-after");
  if (res.status === 200) {
    await res.body?.cancel();
    return { status: 200, code: null, retryAfter };
  }
  return { status: res.status, code: (await errorOf(res)).error.code, retryAfter };
}

/** The failures the client's object holds (the bucket is what the gateway derives from the address). */
async function failuresStored(ip: string): Promise<number> {
  const stub = env.ATTEMPT_GUARD.getByName(attemptBucket(clientIp(new Headers({ "cf-connecting-ip": ip }))));
  // Counted in memory and written after the reply, by the timer: run here rather than waited for.
  await runDueWrite(stub);
  return runInDurableObject(stub, (_instance: AttemptGuard, state) =>
    state.storage.sql.exec<{ n: number }>("SELECT coalesce(sum(count), 0) AS n FROM window_entries").one().n,
  );
}

describe("failed authentications are limited per client address (30 per minute)", () => {
  it("30 unknown keys get 401 invalid_key, the 31st 429 too_many_failed_attempts; other clients are unaffected", async () => {
    const ip = uniqueIp();
    for (let i = 0; i < 30; i++) expect(await attempt(unknownKey(), ip)).toMatchObject({ status: 401, code: "invalid_key" });

    const blocked = await attempt(unknownKey(), ip);
    expect(blocked).toMatchObject({ status: 429, code: "too_many_failed_attempts" });
    // Blocked until the oldest of the 30 failures leaves the minute.
    expect(blocked.retryAfter).toMatch(/^\d+$/);
    expect(Number(blocked.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Number(blocked.retryAfter)).toBeLessThanOrEqual(60);
    // Still blocked on the next try (this one answered from the isolate's memory, without I/O).
    expect(await attempt(unknownKey(), ip)).toMatchObject({ status: 429, code: "too_many_failed_attempts" });
    // Refusals beyond the limit are not logged: the object holds exactly the 30 that counted.
    expect(await failuresStored(ip)).toBe(30);

    const other = uniqueIp();
    expect(await attempt(unknownKey(), other)).toMatchObject({ status: 401, code: "invalid_key" });
    const key = await createKey();
    expect(await attempt(key.key, other)).toMatchObject({ status: 200 });
  });

  it("revoked and expired keys count as failures too", async () => {
    const ip = uniqueIp();
    const revoked = await createKey();
    expect((await admin("POST", `/keys/${revoked.id}/revoke`)).status).toBe(200);
    const expired = await createKey();
    await writeThroughKeyGuard(expired, { expiresAt: systemClock.now() - 1 });

    for (let i = 0; i < 10; i++) expect(await attempt(unknownKey(), ip)).toMatchObject({ status: 401, code: "invalid_key" });
    for (let i = 0; i < 10; i++) expect(await attempt(revoked.key, ip)).toMatchObject({ status: 401, code: "revoked_key" });
    for (let i = 0; i < 10; i++) expect(await attempt(expired.key, ip)).toMatchObject({ status: 401, code: "expired_key" });
    expect(await attempt(revoked.key, ip)).toMatchObject({ status: 429, code: "too_many_failed_attempts" });
  });

  it("a valid key's refusals (over its limit, missing scope) are not failed authentications", async () => {
    const ip = uniqueIp();
    const key = await createKey({ scopes: ["read"], rate_limit: { limit: 1, window_seconds: 60 } });
    expect(await attempt(key.key, ip)).toMatchObject({ status: 200 });
    for (let i = 0; i < 35; i++) expect(await attempt(key.key, ip)).toMatchObject({ status: 429, code: "rate_limit_exceeded" });
    for (let i = 0; i < 35; i++) {
      const res = await gateway("/servers/1", withKey(key.key, ip));
      expect(res.status).toBe(403);
      await res.body?.cancel();
    }
    expect(await attempt(unknownKey(), ip)).toMatchObject({ status: 401, code: "invalid_key" });
    expect(await failuresStored(ip)).toBe(1);
  });

  it("malformed keys never count and cost no lookup", async () => {
    const ip = uniqueIp();
    const bucket = attemptBucket(clientIp(new Headers({ "cf-connecting-ip": ip })));
    const malformed = Array.from({ length: 100 }, badChecksum);
    for (const key of malformed) expect(await attempt(key, ip)).toMatchObject({ status: 401, code: "invalid_key" });

    // No lookup happened (no KV entry, not even a negative one) and the client's object was never created.
    expect(await env.KEYS_CACHE.get(`key:${await hashKey(malformed[0]!)}`)).toBeNull();
    const ids = await listDurableObjectIds(env.ATTEMPT_GUARD);
    expect(ids.some((id) => id.equals(env.ATTEMPT_GUARD.idFromName(bucket)))).toBe(false);

    // So the first well-formed unknown key is still just a 401, and it is the one failure stored.
    expect(await attempt(unknownKey(), ip)).toMatchObject({ status: 401, code: "invalid_key" });
    expect(await failuresStored(ip)).toBe(1);
  });

  it("groups IPv6 clients by /64, since one client can pick any address in it", async () => {
    const network = uniqueIp().replace(/::[0-9a-f]+$/, "");
    for (let i = 1; i <= 30; i++) {
      expect(await attempt(unknownKey(), `${network}:${i.toString(16)}:0:0:1`)).toMatchObject({ status: 401 });
    }
    expect(await attempt(unknownKey(), `${network}::ffff`)).toMatchObject({ status: 429, code: "too_many_failed_attempts" });
    // The same /64 written in full, upper-case: the same client.
    const [, , a, b] = network.split(":");
    expect(await attempt(unknownKey(), `2001:0DB8:${a!.padStart(4, "0").toUpperCase()}:${b}:0:0:0:2`)).toMatchObject({ status: 429 });
    // The neighbouring /64 is someone else.
    const neighbour = `2001:db8:${a}:${(parseInt(b!, 16) ^ 1).toString(16)}::1`;
    expect(await attempt(unknownKey(), neighbour)).toMatchObject({ status: 401, code: "invalid_key" });
  });

  it("counts IPv4 per address, also when it arrives IPv4-mapped in IPv6", async () => {
    const last = 1 + Math.floor(Math.random() * 250);
    const third = Math.floor(Math.random() * 256);
    const ip = `198.18.${third}.${last}`;
    for (let i = 0; i < 15; i++) expect(await attempt(unknownKey(), ip)).toMatchObject({ status: 401 });
    for (let i = 0; i < 15; i++) expect(await attempt(unknownKey(), `::ffff:${ip}`)).toMatchObject({ status: 401 });
    expect(await attempt(unknownKey(), ip)).toMatchObject({ status: 429, code: "too_many_failed_attempts" });
    expect(await attempt(unknownKey(), `198.18.${third}.${last === 1 ? 2 : last - 1}`)).toMatchObject({ status: 401 });
  });
});
