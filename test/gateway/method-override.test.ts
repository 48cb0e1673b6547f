import { describe, expect, it } from "vitest";
import { createKey, errorOf, originUrl, withKey, type Created } from "../support/client";
import { callWorker, echoOf, randomBytes, sha256Hex } from "./helpers";

/**
 * Method overrides (issue 8, class 2): a request needs the scopes of every method it could be
 * executed as. Laravel, Symfony, Rails and Express's method-override read the override from a
 * header, from `_method` in the query, or from `_method` in a form (or parsed JSON) body.
 */

const RULES = JSON.stringify([{ method: "DELETE", path: "/servers/*", scope: "servers:delete" }]);

function post(key: Created, path: string, init: RequestInit = {}, rules = RULES) {
  return callWorker(path, withKey(key.key, undefined, { method: "POST", ...init }), { ROUTE_SCOPES: rules });
}

async function originSaw(id: string): Promise<string[]> {
  const paths = (await (await fetch(`${originUrl()}/__origin/paths`)).json()) as Record<string, number>;
  return Object.keys(paths).filter((path) => path.includes(id));
}

async function expectRefused(res: Response, scope: string): Promise<void> {
  const error = await errorOf(res);
  expect([error.status, error.error.code]).toEqual([403, "insufficient_permissions"]);
  expect(error.error.details?.required_scope).toBe(scope);
}

const unique = () => crypto.randomUUID().slice(0, 8);

function multipart(fields: Record<string, string>): { body: string; type: string } {
  const boundary = `----keygate${unique()}`;
  const parts = Object.entries(fields).map(([name, value]) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`);
  return { body: `${parts.join("")}--${boundary}--\r\n`, type: `multipart/form-data; boundary=${boundary}` };
}

async function gzip(text: string): Promise<Uint8Array> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

describe("override headers", () => {
  it.each([
    ["x-http-method-override", "DELETE"],
    ["x-method-override", "DELETE"],
    ["x-http-method", "DELETE"],
    ["X-HTTP-Method-Override", "delete"],
    ["x-http-method-override", " PUT, DELETE "],
  ])("POST with %s: %s needs the DELETE rule's scope, and never reaches the origin", async (name, value) => {
    const plain = await createKey();
    const id = unique();
    await expectRefused(await post(plain, `/servers/${id}`, { headers: { [name]: value } }), "servers:delete");
    expect(await originSaw(id)).toEqual([]);
  });

  it("an override to GET needs read: a write-only key cannot read through a POST", async () => {
    const writer = await createKey({ scopes: ["write"] });
    await expectRefused(await post(writer, "/things", { headers: { "x-http-method-override": "GET" } }), "read");
  });

  it("a key holding every scope the override could mean passes, and the origin gets the header", async () => {
    const deleter = await createKey({ scopes: ["read", "write", "servers:delete"] });
    const echo = await echoOf(await post(deleter, "/servers/1", { headers: { "x-http-method-override": "DELETE" } }));
    expect(echo.method).toBe("POST");
    expect(echo.headers["x-http-method-override"]).toBe("DELETE");
  });

  it("an underscore spelling (read as the same header by CGI-style origins) never reaches the origin", async () => {
    const plain = await createKey();
    const echo = await echoOf(await post(plain, "/servers/1", { headers: { x_http_method_override: "DELETE", x_method_override: "DELETE", x_http_method: "DELETE" } }));
    expect(Object.keys(echo.headers).filter((name) => name.includes("method"))).toEqual([]);
  });
});

describe("_method in the query", () => {
  it.each(["_method=DELETE", "_METHOD=delete", "%5Fmethod=DELETE", "_%6Dethod=DELETE", "_method%5B%5D=DELETE", "a=1&_method=DELETE"])("?%s needs the DELETE rule's scope", async (query) => {
    const plain = await createKey();
    const id = unique();
    await expectRefused(await post(plain, `/servers/${id}?${query}`), "servers:delete");
    expect(await originSaw(id)).toEqual([]);
  });

  it("other parameters are no override", async () => {
    const plain = await createKey();
    expect((await post(plain, "/servers/1?method=DELETE&x_method=DELETE")).status).toBe(200);
  });
});

describe("_method in the body", () => {
  const form = (body: BodyInit, type: string, extra: Record<string, string> = {}): RequestInit => ({ body, headers: { "content-type": type, ...extra } });

  it.each([
    ["a form", () => form("name=x&_method=DELETE", "application/x-www-form-urlencoded")],
    ["a form with a charset", () => form("_method=delete", "application/x-www-form-urlencoded; charset=UTF-8")],
    ["a form, in PHP's array syntax", () => form("_method%5B%5D=DELETE", "application/x-www-form-urlencoded")],
    ["multipart", () => { const m = multipart({ name: "x", _method: "DELETE" }); return form(m.body, m.type); }],
    ["JSON", () => form(JSON.stringify({ name: "x", _method: "DELETE" }), "application/json")],
    ["JSON with a +json type", () => form(JSON.stringify({ _method: "DELETE" }), "application/vnd.api+json")],
    ["two content types", () => form("_method=DELETE", "text/plain, application/x-www-form-urlencoded")],
  ])("%s needs the DELETE rule's scope", async (_, init) => {
    const plain = await createKey();
    const id = unique();
    await expectRefused(await post(plain, `/servers/${id}`, init()), "servers:delete");
    expect(await originSaw(id)).toEqual([]);
  });

  it.each([
    ["gzip", async () => form(await gzip("_method=DELETE"), "application/x-www-form-urlencoded", { "content-encoding": "gzip" })],
    ["another charset", async () => form("_method=DELETE", "application/x-www-form-urlencoded; charset=utf-16le")],
    ["malformed JSON", async () => form('{"_method": "DELETE"', "application/json")],
    ["over 1 MiB", async () => form(`_method=DELETE&pad=${"x".repeat(1024 * 1024)}`, "application/x-www-form-urlencoded")],
  ])("a body keygate cannot read (%s) needs the scopes of every method", async (_, init) => {
    const plain = await createKey();
    await expectRefused(await post(plain, `/servers/${unique()}`, await init()), "servers:delete");
    const all = await createKey({ scopes: ["read", "write", "servers:delete"] });
    expect((await post(all, "/servers/1", await init())).status).toBe(200);
  });

  it("a form, multipart or JSON body without _method passes, and reaches the origin byte for byte", async () => {
    const writer = await createKey({ scopes: ["write"] });
    const m = multipart({ name: "x", note: "_method is only a word here" });
    for (const init of [
      form("name=x&comment=_method", "application/x-www-form-urlencoded"),
      form(m.body, m.type),
      form(JSON.stringify({ nested: { _method: "DELETE" }, list: ["_method"] }), "application/json"),
    ]) {
      const echo = await echoOf(await post(writer, "/servers/1", init));
      expect(echo.bodySha256).toBe(await sha256Hex(init.body as string));
    }
  });

  it("a large body keygate does not read still reaches the origin whole, streamed", async () => {
    const all = await createKey({ scopes: ["read", "write", "servers:delete"] });
    const body = randomBytes(3 * 1024 * 1024);
    const echo = await echoOf(await post(all, "/servers/1", form(body, "application/x-www-form-urlencoded")));
    expect(echo.bodyLength).toBe(body.length);
    expect(echo.bodySha256).toBe(await sha256Hex(body));
  });

  it("without method-specific rules a body is not read: every method needs the same scopes", async () => {
    const star = await createKey({ scopes: ["*"] });
    const body = randomBytes(2 * 1024 * 1024);
    const echo = await echoOf(await post(star, "/things", form(body, "application/x-www-form-urlencoded"), "[]"));
    expect(echo.bodySha256).toBe(await sha256Hex(body));
  });
});
