import { exports } from "cloudflare:workers";
import { describe, expect, inject, it } from "vitest";
import { sha256Hex } from "../gateway/helpers";
import { BASE } from "./support";

/**
 * /_keygate/docs runs on the hostname where admins paste tokens: everything it loads comes from
 * this worker, pinned by package-lock.json, under a CSP that allows nothing else.
 */

const get = (path: string, init?: RequestInit) => exports.default.fetch(`${BASE}${path}`, init);

function directives(res: Response): Map<string, string[]> {
  const csp = res.headers.get("content-security-policy") ?? "";
  return new Map(
    csp
      .split(";")
      .map((d) => d.trim().split(/\s+/))
      .filter((parts) => parts[0])
      .map(([name, ...values]) => [name!, values]),
  );
}

describe("GET /_keygate/docs", () => {
  it("serves Swagger UI's page, loading only this worker's files and the spec", async () => {
    const res = await get("/_keygate/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    const html = await res.text();
    const sources = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(sources.length).toBeGreaterThan(2);
    for (const source of sources) expect(source, source).toMatch(/^\/_keygate\/docs\//);
    expect(html).not.toMatch(/https?:\/\//);
    // Every script is a file: no inline script for the CSP to have to allow.
    expect([...html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)].every((m) => m[1]!.includes("src=") && m[2]!.trim() === "")).toBe(true);
    const init = await get("/_keygate/docs/init.js");
    expect(await init.text()).toContain("/_keygate/openapi.json");
  });

  it("has a strict CSP: self only, no inline script, no framing", async () => {
    const res = await get("/_keygate/docs");
    const csp = directives(res);
    expect(csp.get("default-src")).toEqual(["'self'"]);
    expect(csp.get("script-src")).toEqual(["'self'"]);
    expect(csp.get("frame-ancestors")).toEqual(["'none'"]);
    expect(csp.get("object-src")).toEqual(["'none'"]);
    for (const values of csp.values()) {
      for (const value of values) expect(value).not.toMatch(/unsafe-inline|unsafe-eval|\*|https?:/);
    }
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
  });

  it.each([
    ["swagger-ui-bundle.js", /javascript/],
    ["swagger-ui.css", /text\/css/],
  ])("serves %s exactly as the locked swagger-ui-dist has it", async (file, type) => {
    const res = await get(`/_keygate/docs/${file}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(type);
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(directives(res).get("frame-ancestors")).toEqual(["'none'"]);
    expect(await sha256Hex(await res.arrayBuffer())).toBe(inject("swaggerUiHashes")[file]);
  });

  it("answers a file it does not have with the API's 404, not another file", async () => {
    for (const path of ["/_keygate/docs/nope.js", "/_keygate/docs/..%2F..%2Fwrangler.toml", "/_keygate/docs/index.html"]) {
      const res = await get(path);
      expect(res.status, path).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("not_found");
    }
  });

  it("does not serve keygate's static files outside /_keygate/: those paths are the customer's API", async () => {
    const res = await get("/_keygate/docs/swagger-ui.css".replace("/_keygate", ""));
    expect(res.status).toBe(401);
  });
});
