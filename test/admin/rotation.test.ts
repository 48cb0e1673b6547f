import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { systemClock } from "../../src/clock";
import { moveClockTo } from "../support/clock";
import { ADMIN_TOKEN, admin, createKey, useKey } from "../support/client";
import { expectError, failingFields, json, rawAdmin, storedState, type KeyBody } from "./support";

describe("POST /keys/:id/rotate", () => {
  it("issues a new key with the same settings, shown once, and ends the old one at once by default", async () => {
    const old = await createKey({
      name: "billing",
      description: "for the billing service",
      environment: "test",
      scopes: ["read", "write:servers"],
      rate_limit: { limit: 7, window_seconds: 30 },
      expires_at: new Date(systemClock.now() + 30 * 86_400_000).toISOString(),
    });
    expect(await useKey(old.key)).toBe("ok");
    // No body at all: grace_seconds defaults to 0.
    const res = await rawAdmin("POST", `/keys/${old.id}/rotate`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const next = await json<KeyBody>(res, 201);
    expect(next.key).toMatch(/^kg_test_/);
    expect(next.id).not.toBe(old.id);
    expect(next).toMatchObject({
      tenant_id: old.tenant_id,
      name: "billing",
      description: "for the billing service",
      environment: "test",
      scopes: ["read", "write:servers"],
      rate_limit: { limit: 7, window_seconds: 30 },
      expires_at: old.expires_at,
      rotated_from: old.id,
      rotated_to: null,
      status: "active",
    });
    expect(next.display).not.toBe(old.display);

    expect(await useKey(old.key)).toBe("expired_key");
    expect(await useKey(next.key!)).toBe("ok");
    const after = await json<KeyBody>(await admin("GET", `/keys/${old.id}`), 200);
    expect(after).toMatchObject({ rotated_to: next.id, status: "expired" });
    // The plaintext is never shown again.
    expect(JSON.stringify(await json(await admin("GET", `/keys/${next.id}`), 200))).not.toContain(next.key);
  });

  it("keeps the old key working through the grace period, then fails it as expired_key", async () => {
    const old = await createKey();
    const next = await json<KeyBody>(await admin("POST", `/keys/${old.id}/rotate`, { grace_seconds: 30 }), 201);
    const deadline = systemClock.now() + 30_000;
    expect(await useKey(old.key)).toBe("ok");
    expect(await useKey(next.key!)).toBe("ok");
    const during = await json<KeyBody>(await admin("GET", `/keys/${old.id}`), 200);
    expect(during.status).toBe("active");
    expect(Math.abs(Date.parse(during.expires_at!) - deadline)).toBeLessThan(1500);
    moveClockTo(Date.parse(during.expires_at!) - 1_000);
    expect(await useKey(old.key)).toBe("ok");
    moveClockTo(Date.parse(during.expires_at!));
    expect(await useKey(old.key)).toBe("expired_key");
    expect(await useKey(next.key!)).toBe("ok");
  });

  it("never extends an old key's life beyond its own expiry", async () => {
    const expiresAt = new Date(systemClock.now() + 60_000).toISOString();
    const old = await createKey({ expires_at: expiresAt });
    await json(await admin("POST", `/keys/${old.id}/rotate`, { grace_seconds: 86_400 }), 201);
    expect((await json<KeyBody>(await admin("GET", `/keys/${old.id}`), 200)).expires_at).toBe(expiresAt);
  });

  it("records the rotation on both keys in the audit trail, under one request id", async () => {
    const old = await createKey();
    const res = await admin("POST", `/keys/${old.id}/rotate`, { grace_seconds: 30 });
    const next = await json<KeyBody>(res, 201);
    const { results } = await env.DB.prepare("SELECT action, resource_id, details FROM audit_events WHERE request_id = ? ORDER BY action")
      .bind(res.headers.get("x-request-id"))
      .all<{ action: string; resource_id: string; details: string }>();
    expect(results.map((e) => [e.action, e.resource_id])).toEqual([
      ["key.created", next.id],
      ["key.rotated", old.id],
    ]);
    expect(JSON.parse(results[1]!.details)).toMatchObject({ rotated_to: next.id, grace_seconds: 30 });
    expect(JSON.parse(results[0]!.details)).toEqual({ rotated_from: old.id });
  });

  it("refuses revoked, deleted, already rotated and expired keys with 409, changing nothing", async () => {
    const revoked = await createKey();
    const deleted = await createKey();
    const rotated = await createKey();
    const expiring = await createKey({ expires_at: new Date(systemClock.now() + 60_000).toISOString() });
    await json(await admin("POST", `/keys/${revoked.id}/revoke`), 200);
    expect((await admin("DELETE", `/keys/${deleted.id}`)).status).toBe(204);
    await json(await admin("POST", `/keys/${rotated.id}/rotate`, { grace_seconds: 60 }), 201);
    moveClockTo(Date.parse(expiring.expires_at as string));
    const before = await storedState();
    for (const id of [revoked.id, deleted.id, rotated.id, expiring.id]) {
      await expectError(await admin("POST", `/keys/${id}/rotate`, { grace_seconds: 60 }), 409, "conflict");
    }
    await expectError(await admin("POST", "/keys/key_00000000000000000000/rotate", {}), 404, "not_found");
    expect(await storedState()).toEqual(before);
    expect(await useKey(revoked.key)).toBe("revoked_key");
  });

  it("validates grace_seconds and refuses unknown fields, changing nothing", async () => {
    const key = await createKey();
    const before = await storedState();
    const rotate = async (body: unknown) => failingFields(await admin("POST", `/keys/${key.id}/rotate`, body));
    expect(await rotate({ grace_seconds: -1 })).toEqual(["grace_seconds"]);
    expect(await rotate({ grace_seconds: 30 * 86_400 + 1 })).toEqual(["grace_seconds"]);
    expect(await rotate({ grace_seconds: 1.5 })).toEqual(["grace_seconds"]);
    expect(await rotate({ grace_seconds: "60" })).toEqual(["grace_seconds"]);
    expect(await rotate({ grace_seconds: 60, scopes: ["*"] })).toEqual(["body"]);
    expect(await rotate("not json")).toEqual(["body"]);
    expect(await storedState()).toEqual(before);
    expect(await useKey(key.key)).toBe("ok");
  });
});
