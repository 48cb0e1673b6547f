import { describe, expect, it } from "vitest";
import { admin, createKey, createTenant, uniqueIp, useKey } from "../support/client";
import { forwardNow } from "../usage/support";
import { adminUser, adminWith, asKey, expectError, json, signin, storedState } from "./support";

interface NamedKey {
  key_id: string;
  name: string | null;
  display: string;
  tenant_id: string;
  tenant_name: string;
}
interface Overview {
  object: string;
  granularity: string;
  from: string;
  to: string;
  series: { start: string; admitted: number; rate_limited: number; refused: Record<string, number> }[];
  totals: { admitted: number; rate_limited: number; refused: Record<string, number> };
  busiest_keys: (NamedKey & { admitted: number; rate_limited: number; refused: number })[];
  refusals: (NamedKey & { code: string; count: number })[];
  expiring_keys: (NamedKey & { expires_at: string; rotated_to: string | null })[];
  failed_signins: { action: string; actor: { type: string; id: string }; resource: { type: string; id: string } }[];
}
interface Names {
  object: string;
  data: { id: string; type: string; name: string | null; display: string | null; tenant_id: string | null }[];
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const overview = async (token?: string) => json<Overview>(await (token ? adminWith(token, "GET", "/overview") : admin("GET", "/overview")), 200);

/** What the gateway answered each of `n` requests with `key`: "ok" or the refusal's code. */
async function send(key: string, n: number): Promise<string[]> {
  const answers: string[] = [];
  for (let i = 0; i < n; i++) answers.push(await useKey(key));
  return answers;
}

describe("GET /overview", () => {
  it("sums the last 24 hours over every tenant, names the busiest keys and what was refused", async () => {
    const before = await overview();
    const acme = await createTenant("Acme");
    const globex = await createTenant("Globex");
    const busy = await createKey({ tenant_id: acme.id, name: "busy", rate_limit: { limit: 4, window_seconds: 60 } });
    const quiet = await createKey({ tenant_id: globex.id, name: "quiet" });
    const gone = await createKey({ tenant_id: globex.id, name: "gone" });
    expect(await send(busy.key, 6)).toEqual(["ok", "ok", "ok", "ok", "rate_limit_exceeded", "rate_limit_exceeded"]);
    expect(await send(quiet.key, 1)).toEqual(["ok"]);
    await admin("POST", `/keys/${gone.id}/revoke`);
    expect(await useKey(gone.key)).toBe("revoked_key");
    expect(await useKey(gone.key)).toBe("revoked_key");
    for (const key of [busy, quiet, gone]) await forwardNow(key.id);

    const view = await overview();
    expect(view).toMatchObject({ object: "overview", granularity: "hour" });
    // Every hour of the window, the current one last.
    expect(view.series).toHaveLength(24);
    expect(Date.parse(view.to) - Date.parse(view.from)).toBe(DAY);
    expect(Date.parse(view.series.at(-1)!.start)).toBeLessThanOrEqual(Date.now());
    expect(view.totals.admitted - before.totals.admitted).toBe(5);
    expect(view.totals.rate_limited - before.totals.rate_limited).toBe(2);
    expect((view.totals.refused.revoked_key ?? 0) - (before.totals.refused.revoked_key ?? 0)).toBe(2);
    expect(view.series.reduce((sum, point) => sum + point.admitted, 0)).toBe(view.totals.admitted);

    const named = (key: { id: string }) => view.busiest_keys.find((row) => row.key_id === key.id);
    expect(named(busy)).toEqual({ key_id: busy.id, name: "busy", display: expect.stringMatching(/^kg_live_.+…/), tenant_id: acme.id, tenant_name: "Acme", admitted: 4, rate_limited: 2, refused: 0 });
    expect(named(gone)).toMatchObject({ tenant_name: "Globex", admitted: 0, refused: 2 });
    // Busiest first: busy (6) before gone (2) before quiet (1).
    const order = view.busiest_keys.map((row) => row.key_id).filter((id) => [busy.id, quiet.id, gone.id].includes(id));
    expect(order).toEqual([busy.id, gone.id, quiet.id]);

    // Most first; two with the same count come in key id order, which is random here: compared as a set.
    const refusals = view.refusals.filter((row) => [busy.id, gone.id, quiet.id].includes(row.key_id)).map(({ name, code, count }) => ({ name, code, count }));
    expect(refusals.sort((a, b) => (a.name ?? "").localeCompare(b.name ?? ""))).toEqual([
      { name: "busy", code: "rate_limit_exceeded", count: 2 },
      { name: "gone", code: "revoked_key", count: 2 },
    ]);
  });

  it("lists the live keys that expire within 7 days, soonest first, a rotated key's grace included", async () => {
    const tenant = await createTenant("Initech");
    const at = (ms: number) => new Date(Date.now() + ms).toISOString();
    const soon = await createKey({ tenant_id: tenant.id, name: "soon", expires_at: at(2 * DAY) });
    const sooner = await createKey({ tenant_id: tenant.id, name: "sooner", expires_at: at(HOUR) });
    const later = await createKey({ tenant_id: tenant.id, name: "later", expires_at: at(10 * DAY) });
    const revoked = await createKey({ tenant_id: tenant.id, name: "revoked", expires_at: at(DAY) });
    const never = await createKey({ tenant_id: tenant.id, name: "never" });
    const rotated = await createKey({ tenant_id: tenant.id, name: "rotated" });
    await admin("POST", `/keys/${revoked.id}/revoke`);
    const rotation = await json<{ id: string }>(await admin("POST", `/keys/${rotated.id}/rotate`, { grace_seconds: 3600 }), 201);

    const listed = (await overview()).expiring_keys.filter((row) => row.tenant_id === tenant.id);
    expect(listed.map((row) => row.name)).toEqual(["sooner", "rotated", "soon"]);
    expect(listed[0]).toMatchObject({ key_id: sooner.id, tenant_name: "Initech", rotated_to: null });
    expect(listed[1]).toMatchObject({ key_id: rotated.id, rotated_to: rotation.id });
    expect(Date.parse(listed[2]!.expires_at)).toBeGreaterThan(Date.now() + DAY);
    for (const key of [later, revoked, never]) expect(listed.some((row) => row.key_id === key.id)).toBe(false);
    expect(soon.id).toBe(listed[2]!.key_id);
  });

  it("shows the latest failed sign-ins", async () => {
    const owner = await adminUser("owner");
    const ip = uniqueIp();
    expect((await signin({ grant_type: "password", email: owner.email, password: "not the password" }, { ip })).status).toBe(401);
    const failed = (await overview()).failed_signins[0];
    expect(failed).toMatchObject({ action: "signin.failed", actor: { type: "client", id: ip }, resource: { type: "signin", id: owner.email } });
  });

  it("is open to every role that reads, and to nothing else; it changes nothing", async () => {
    const viewer = await adminUser("viewer");
    const verifier = await adminUser("verifier");
    const selfService = await createKey({ scopes: ["keys:manage"] });
    const before = await storedState();
    expect((await overview(viewer.token)).object).toBe("overview");
    await expectError(await adminWith(verifier.token, "GET", "/overview"), 403, "insufficient_permissions");
    await expectError(await asKey(selfService.key, "GET", "/overview"), 403, "insufficient_permissions");
    await expectError(await admin("GET", "/overview?days=7"), 400, "invalid_request");
    expect(await storedState()).toEqual(before);
  });
});

describe("GET /names", () => {
  it("names admins by email, tenants and keys by name, deleted keys too; unknown ids are left out", async () => {
    const viewer = await adminUser("viewer");
    const tenant = await createTenant("Named tenant");
    const key = await createKey({ tenant_id: tenant.id, name: "named key" });
    const deleted = await createKey({ tenant_id: tenant.id });
    await admin("DELETE", `/keys/${deleted.id}`);
    const ids = [viewer.id, tenant.id, key.id, deleted.id, "adm_doesnotexist", "key_doesnotexist"];
    const names = await json<Names>(await adminWith(viewer.token, "GET", `/names?ids=${ids.join(",")},${key.id}`), 200);
    expect(names.object).toBe("list");
    expect(names.data.sort((a, b) => a.id.localeCompare(b.id))).toEqual(
      [
        { id: viewer.id, type: "admin", name: viewer.email, display: null, tenant_id: null },
        { id: tenant.id, type: "tenant", name: "Named tenant", display: null, tenant_id: tenant.id },
        { id: key.id, type: "api_key", name: "named key", display: key.display, tenant_id: tenant.id },
        { id: deleted.id, type: "api_key", name: null, display: deleted.display, tenant_id: tenant.id },
      ].sort((a, b) => a.id.localeCompare(b.id)),
    );
  });

  it("refuses what is not a list of ids, and callers that may not read", async () => {
    const fields = async (query: string) => {
      const error = await expectError(await admin("GET", `/names${query}`), 400, "invalid_request");
      return error.error.details;
    };
    for (const query of ["", "?ids=", "?ids=root", "?ids=key_ok,evt_abc", `?ids=${Array.from({ length: 101 }, (_, i) => `key_${i}a`).join(",")}`, "?ids=key_a&extra=1"]) {
      expect(await fields(query), query).toBeTruthy();
    }
    const verifier = await adminUser("verifier");
    await expectError(await adminWith(verifier.token, "GET", "/names?ids=key_abc"), 403, "insufficient_permissions");
    const selfService = await createKey({ scopes: ["keys:manage"] });
    await expectError(await asKey(selfService.key, "GET", `/names?ids=${selfService.id}`), 403, "insufficient_permissions");
  });
});
