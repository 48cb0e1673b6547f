import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { curl, errorOf, startKeygate, type CurlResult, type Keygate } from "./support.mjs";

// docs/admin-api.md's admin flow from the first owner to the audit trail, against `wrangler dev`
// with real curl. The end of a rotation's grace period needs time to pass in keygate, which a test
// cannot move here: test/admin/rotation.test.ts moves keygate's clock past it instead.

let kg: Keygate;
beforeAll(async () => {
  kg = await startKeygate();
});
afterAll(async () => {
  await kg?.stop();
});

const EMAIL = "ops@example.com";
const PASSWORD = "correct horse battery staple";

function api(method: string, path: string, token: string, body?: unknown): Promise<CurlResult> {
  const args = ["-X", method, "-H", `authorization: Bearer ${token}`];
  if (body !== undefined) args.push("-H", "content-type: application/json", "--data-binary", JSON.stringify(body));
  return curl(`${kg.url}/_keygate/v1${path}`, args);
}
const use = async (key: string) => {
  const res = await curl(`${kg.url}/hello`, ["-H", `x-api-key: ${key}`]);
  return res.status === 200 ? "ok" : errorOf(res).error.code;
};

describe("the admin API under wrangler dev", () => {
  it("owner → sign in → refresh → tenant → key → gateway → rotate with grace → revoke → audit", async () => {
    const owner = await api("POST", "/admins", kg.adminToken, { email: EMAIL, password: PASSWORD, role: "owner" });
    expect(owner.status).toBe(201);

    const signin = await curl(`${kg.url}/_keygate/v1/signins`, [
      "-H", "content-type: application/json",
      "--data-binary", JSON.stringify({ grant_type: "password", email: EMAIL, password: PASSWORD }),
    ]);
    expect(signin.status).toBe(200);
    expect(signin.json()).toMatchObject({ token_type: "Bearer", expires_in: 3600 });
    const refreshed = await api("POST", "/signins", signin.json().access_token, { grant_type: "refresh" });
    expect(refreshed.status).toBe(200);
    const token: string = refreshed.json().access_token;
    expect(token).not.toBe(signin.json().access_token);

    const tenant = (await api("POST", "/tenants", token, { name: "Acme" })).json();
    const key = (await api("POST", "/keys", token, { tenant_id: tenant.id, name: "billing" })).json();
    expect(await use(key.key)).toBe("ok");

    const rotated = await api("POST", `/keys/${key.id}/rotate`, token, { grace_seconds: 600 });
    expect(rotated.status).toBe(201);
    const next = rotated.json();
    expect(next.rotated_from).toBe(key.id);
    expect(await use(key.key)).toBe("ok");
    expect(await use(next.key)).toBe("ok");
    const old = (await api("GET", `/keys/${key.id}`, token)).json();
    expect(old).toMatchObject({ status: "active", rotated_to: next.id });
    expect(Date.parse(old.expires_at) - Date.now()).toBeGreaterThan(500_000);

    expect((await api("POST", `/keys/${next.id}/revoke`, token)).json().status).toBe("revoked");
    expect(await use(next.key)).toBe("revoked_key");

    const usage = (await api("GET", `/keys/${key.id}/usage`, token)).json();
    expect(usage.requests).toBe(2);

    const audit = (await api("GET", `/audit-events?tenant_id=${tenant.id}`, token)).json();
    expect(audit.data.map((e: { action: string }) => e.action).sort()).toEqual(["key.created", "key.created", "key.revoked", "key.rotated", "tenant.created"]);
    expect(audit.data.every((e: { actor: { id: string } }) => e.actor.id === owner.json().id)).toBe(true);
  });

  it("serves the OpenAPI document and the interactive reference without credentials", async () => {
    const spec = await curl(`${kg.url}/_keygate/openapi.json`);
    expect(spec.status).toBe(200);
    expect(spec.json().openapi).toBe("3.1.0");
    const docs = await curl(`${kg.url}/_keygate/docs`);
    expect(docs.status).toBe(200);
    expect(docs.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    // wrangler ran [build]: Swagger UI and its starter come from this worker, not a CDN.
    const files = [...docs.text().matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(files).toContain("/_keygate/docs/swagger-ui-bundle.js");
    for (const file of files) expect((await curl(`${kg.url}${file}`)).status, file).toBe(200);
    expect((await curl(`${kg.url}/_keygate/docs/init.js`)).text()).toContain("/_keygate/openapi.json");
  });
});
