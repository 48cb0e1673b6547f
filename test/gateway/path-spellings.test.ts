import { describe, expect, it } from "vitest";
import { createKey, errorOf, originUrl, withKey } from "../support/client";
import { callWorker, echoOf } from "./helpers";

/**
 * Spellings of a ruled path that common frameworks fold into the same route (issue 8, class 1):
 * each needs the ruled scope, and a refused one never reaches the origin in any form.
 */

const RULES = JSON.stringify([
  { method: "DELETE", path: "/servers/*", scope: "servers:delete" },
  { method: "GET", path: "/reports", scope: "reports" },
  { method: "GET", path: "/exports/", scope: "exports" }, // written with a trailing slash
]);

const call = (key: string, method: string, path: string) => callWorker(path, withKey(key, undefined, { method }), { ROUTE_SCOPES: RULES });

async function originSaw(): Promise<Record<string, number>> {
  return (await fetch(`${originUrl()}/__origin/paths`)).json();
}

async function refusedFor(key: string, method: string, path: string): Promise<unknown> {
  const error = await errorOf(await call(key, method, path));
  expect([error.status, error.error.code], `${method} ${path}`).toEqual([403, "insufficient_permissions"]);
  return error.error.details?.required_scopes ?? error.error.details?.required_scope;
}

// A unique collection per test, so the origin's per-path counts show whether anything got through.
const unique = () => crypto.randomUUID().slice(0, 8);

describe("a DELETE rule on /servers/*", () => {
  const spellings = (id: string) => [
    `/servers/${id}/`,
    `/servers/${id}//`,
    `/servers//${id}/`,
    `/servers/${id}/.`,
    `/servers/${id}/./`,
    `/servers/${id}%2F`,
    `/servers/${id}%2f`,
    `/servers/${id}%252F`,
    `/servers/${id}%5C`,
    `/servers/${id}\\`,
    `/servers/${id};x=1`,
    `/servers/${id}.json`,
    `/servers/${id}.`,
    `/servers/${id}%2E`,
    `/servers/${id}%20`,
    `/servers/${id}%00`,
    `/SERVERS/${id}/`,
    `/servers/${id}/?force=1`,
  ];

  it("holds for every trailing-slash, repeated-slash, encoded, dotted or suffixed spelling", async () => {
    const plain = await createKey(); // read, write: no servers:delete
    const id = unique();
    for (const path of spellings(id)) expect(await refusedFor(plain.key, "DELETE", path), path).toContain("servers:delete");
    const seen = Object.keys(await originSaw()).filter((path) => path.includes(id));
    expect(seen).toEqual([]);
  });

  it("lets a key with servers:delete through, and the origin gets the path as sent", async () => {
    const deleter = await createKey({ scopes: ["read", "write", "servers:delete"] });
    const id = unique();
    const res = await call(deleter.key, "DELETE", `/servers/${id}/`);
    expect((await echoOf(res)).path).toBe(`/servers/${id}/`);
  });

  it("leaves other methods and deeper paths to the default scopes", async () => {
    const plain = await createKey();
    expect((await call(plain.key, "GET", "/servers/1/")).status).toBe(200);
    expect((await call(plain.key, "DELETE", "/servers/1/disks/2")).status).toBe(200);
  });
});

describe("a GET rule on /reports", () => {
  it.each(["/reports/", "/reports//", "//reports", "/reports/.", "/reports.json", "/reports.csv/", "/Reports/", "/reports%2F", "/reports;v=1", "/x/../reports/", "/reports%252e"])(
    "%s needs the reports scope",
    async (path) => {
      const plain = await createKey();
      expect(await refusedFor(plain.key, "GET", path)).toContain("reports");
    },
  );

  it("a rule written with a trailing slash covers the path without one, and the other way round", async () => {
    const plain = await createKey();
    for (const path of ["/exports", "/exports/", "/exports//"]) expect(await refusedFor(plain.key, "GET", path), path).toContain("exports");
    const reports = await createKey({ scopes: ["read", "reports"] });
    expect((await call(reports.key, "GET", "/reports/")).status).toBe(200);
  });

  it("does not spread to look-alikes that no framework folds into /reports", async () => {
    const plain = await createKey();
    for (const path of ["/reportsX", "/reports/1", "/reports-old", "/my/reports"]) expect((await call(plain.key, "GET", path)).status, path).toBe(200);
  });
});

describe("public paths (/health and /public/* in the tests)", () => {
  const anonymous = (path: string) => callWorker(path);

  it("are public only as spelled: a trailing slash is a spelling nobody wrote (see public-paths.test.ts)", async () => {
    for (const path of ["/health/", "/public/a/"]) {
      const error = await errorOf(await anonymous(path));
      expect([error.status, error.error.code], path).toEqual([401, "missing_credentials"]);
    }
  });

  it("are not public when some reading of the path leaves them", async () => {
    for (const path of ["/public/a/..%2F..%2Fservers", "/public/..%252Fservers", "/public/a%00/../../servers", "/public/..;/servers", "/health/..%5Cservers"]) {
      const error = await errorOf(await anonymous(path));
      expect([error.status, error.error.code], path).toEqual([401, "missing_credentials"]);
    }
  });
});
