import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { KeyPolicy } from "../../src/authority/key";
import { admin, createKey, errorOf, gateway, uniqueIp, useKey, withKey, type Created } from "../support/client";
import { json, type KeyBody } from "./support";

/**
 * Admin calls racing each other: the key's Durable Object decides, D1 follows, and the audit
 * trail records what happened exactly once.
 */


async function events(resourceId: string, action: string): Promise<number> {
  return (await env.DB.prepare("SELECT COUNT(*) AS n FROM audit_events WHERE resource_id = ? AND action = ?").bind(resourceId, action).first<number>("n")) ?? 0;
}

/** What the key's object holds, as the admin API would have written it. */
function snapshot(key: Created): KeyPolicy {
  const rateLimit = key.rate_limit as { limit: number; window_seconds: number };
  return {
    status: "active",
    tenantActive: true,
    expiresAt: null,
    scopes: key.scopes as string[],
    windows: [{ name: "default", limit: rateLimit.limit, windowSeconds: rateLimit.window_seconds }],
    credits: null,
    quota: null,
  };
}

describe("concurrent rotations of one key", () => {
  it("make exactly one successor; the others get 409 and make nothing", async () => {
    const old = await createKey();
    const results = await Promise.all(Array.from({ length: 5 }, () => admin("POST", `/keys/${old.id}/rotate`, { grace_seconds: 60 })));
    const statuses = results.map((res) => res.status).sort();
    expect(statuses).toEqual([201, 409, 409, 409, 409]);
    for (const res of results) if (res.status === 409) expect((await errorOf(res)).error.code).toBe("conflict");
    const winner = await json<KeyBody>(results.find((res) => res.status === 201)!, 201);

    const successors = await env.DB.prepare("SELECT id FROM api_keys WHERE rotated_from = ?").bind(old.id).all<{ id: string }>();
    expect(successors.results.map((row) => row.id)).toEqual([winner.id]);
    expect(await events(old.id, "key.rotated")).toBe(1);
    expect((await json<KeyBody>(await admin("GET", `/keys/${old.id}`), 200)).rotated_to).toBe(winner.id);
    expect(await useKey(winner.key!)).toBe("ok");
    expect(await useKey(old.key)).toBe("ok"); // its grace period
  });
});

describe("concurrent revokes and deletes of one key", () => {
  it("all succeed, and the audit trail records one revocation", async () => {
    const key = await createKey();
    const results = await Promise.all(Array.from({ length: 5 }, () => admin("POST", `/keys/${key.id}/revoke`)));
    expect(results.map((res) => res.status)).toEqual([200, 200, 200, 200, 200]);
    expect(await events(key.id, "key.revoked")).toBe(1);
    expect(await useKey(key.key)).toBe("revoked_key");
  });

  it("all succeed, and the audit trail records one deletion", async () => {
    const key = await createKey();
    const results = await Promise.all(Array.from({ length: 5 }, () => admin("DELETE", `/keys/${key.id}`)));
    expect(results.map((res) => res.status)).toEqual([204, 204, 204, 204, 204]);
    expect(await events(key.id, "key.deleted")).toBe(1);
    expect(await useKey(key.key)).toBe("invalid_key");
  });
});

describe("revoking or deleting a key D1 already shows as revoked or deleted", () => {
  // D1 can say so while the key's object does not, e.g. after a restore or a hand-made fix in SQL.
  it("still ends the key at its object (a repeat repairs it), recording nothing new", async () => {
    const revoked = await createKey();
    const deleted = await createKey();
    await env.DB.prepare("UPDATE api_keys SET revoked_at = ? WHERE id = ?").bind(Date.now(), revoked.id).run();
    await env.DB.prepare("UPDATE api_keys SET deleted_at = ? WHERE id = ?").bind(Date.now(), deleted.id).run();
    expect(await useKey(revoked.key)).toBe("ok");

    expect((await json<KeyBody>(await admin("POST", `/keys/${revoked.id}/revoke`), 200)).status).toBe("revoked");
    expect((await admin("DELETE", `/keys/${deleted.id}`)).status).toBe(204);
    expect(await useKey(revoked.key)).toBe("revoked_key");
    expect(await useKey(deleted.key)).toBe("invalid_key");
    expect(await events(revoked.id, "key.revoked")).toBe(0);
    expect(await events(deleted.id, "key.deleted")).toBe(0);
  });
});

describe("PATCH /keys/:id writes only the fields it is given", () => {
  it("a name change leaves the key's object alone, so it cannot undo a concurrent scope change", async () => {
    const key = await createKey({ scopes: ["read", "write"] });
    // A concurrent PATCH of the scopes has reached the key's object, not yet D1.
    await env.KEY_GUARD.getByName(key.id).update({ scopes: ["write"] }, snapshot(key));
    await json(await admin("PATCH", `/keys/${key.id}`, { name: "renamed", description: "only the labels" }), 200);
    expect(await useKey(key.key)).toBe("insufficient_permissions");
  });

  it("a rate-limit change leaves the scopes alone at the key's object", async () => {
    const key = await createKey({ scopes: ["read", "write"], name: "kept" });
    await env.KEY_GUARD.getByName(key.id).update({ scopes: ["write"] }, snapshot(key));
    const body = await json<KeyBody>(await admin("PATCH", `/keys/${key.id}`, { rate_limit: { limit: 5, window_seconds: 60 } }), 200);
    expect(body).toMatchObject({ name: "kept", rate_limit: { limit: 5, window_seconds: 60 } });
    const refused = await gateway("/items", withKey(key.key, uniqueIp()));
    expect((await errorOf(refused)).error.code).toBe("insufficient_permissions");
    expect(refused.headers.get("x-ratelimit-limit")).toBe("5");
  });
});
