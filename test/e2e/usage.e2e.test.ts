import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { curl, startKeygate, type KeyView, type Keygate } from "./support.mjs";

// Usage records as a user sees them: `wrangler dev`, requests with curl in every style, then the
// key's events through the admin API; and the local state on disk holds no plaintext key. The
// last use a key's object forwards to D1 (its alarm, seconds after a change) is not waited for
// here: test/usage/records.test.ts runs that alarm itself.

let kg: Keygate;
let key: KeyView;

beforeAll(async () => {
  kg = await startKeygate();
  const tenant = await kg.admin.createTenant("E2E usage");
  key = await kg.admin.createKey({ tenant_id: tenant.id, name: "usage", scopes: ["read"] });
});

afterAll(async () => {
  await kg?.stop();
});

/** Every file under `dir`, recursively. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

describe("wrangler dev + curl: a key's events", () => {
  it("five requests in three styles are listed newest first with their carriers, paths and statuses", async () => {
    const sends: [string, string[]][] = [
      ["/one?secret=q1", ["-H", `x-api-key: ${key.key}`]],
      ["/two", ["-H", `Authorization: Bearer ${key.key}`]],
      ["/three?x=1", ["-u", `${key.key}:`]],
      ["/four", ["-X", "POST", "-H", `x-api-key: ${key.key}`, "--data", "{}"]],
      ["/five", ["-H", `Authorization: Bearer ${key.key}`, "-A", "e2e-agent/1.0"]],
    ];
    const statuses: number[] = [];
    for (const [path, args] of sends) statuses.push((await curl(`${kg.url}${path}`, args)).status);
    expect(statuses).toEqual([200, 200, 200, 403, 200]);

    const res = await curl(`${kg.url}/_keygate/v1/keys/${key.id}/events`, ["-H", `Authorization: Bearer ${kg.adminToken}`]);
    expect(res.status).toBe(200);
    const events = res.json().data as { carrier: string; path: string; status: number; method: string; request_id: string; user_agent: string }[];
    expect(events.map((e) => [e.carrier, e.method, e.path, e.status])).toEqual([
      ["bearer", "GET", "/five", 200],
      ["x-api-key", "POST", "/four", 403],
      ["basic", "GET", "/three", 200],
      ["bearer", "GET", "/two", 200],
      ["x-api-key", "GET", "/one", 200],
    ]);
    expect(events[0]!.user_agent).toBe("e2e-agent/1.0");
    for (const event of events) expect(event.request_id).toMatch(/^req_/);

    // Nothing on disk (D1, KV, both Durable Object classes) holds the key, in any file.
    const files = await filesUnder(join(kg.dir, "state"));
    expect(files.some((f) => f.includes("KeyGuard"))).toBe(true);
    const needle = Buffer.from(key.key);
    const holding: string[] = [];
    for (const file of files) if ((await readFile(file)).includes(needle)) holding.push(file);
    expect(holding).toEqual([]);
  });
});
