import { describe, expect, it } from "vitest";
import { createKey, gateway, originUrl, type Echo } from "../support/client";
import { echoOf } from "./helpers";

/**
 * What the origin is told about the client (issue 8, class 3): every forwarding header it receives
 * was set by keygate from what keygate knows, never passed on from the client.
 */

const FORGED = {
  forwarded: 'for=198.51.100.66;host=evil.example;proto=http, for="[2001:db8::bad]";by=evil',
  "x-forwarded-for": "198.51.100.66, 10.0.0.1",
  "x-forwarded-host": "evil.example",
  "x-forwarded-proto": "http",
  "x-forwarded-port": "8443",
  "x-forwarded-prefix": "/evil",
  "x-forwarded-server": "evil",
  "x-real-ip": "198.51.100.66",
  "true-client-ip": "198.51.100.66",
  "x-client-ip": "198.51.100.66",
  "client-ip": "198.51.100.66",
  "x-cluster-client-ip": "198.51.100.66",
  "fastly-client-ip": "198.51.100.66",
  "x-original-forwarded-for": "198.51.100.66",
  "x-original-url": "/admin",
  "x-rewrite-url": "/admin",
  "x-original-host": "evil.example",
  "x-host": "evil.example",
  x_forwarded_for: "198.51.100.66",
  x_real_ip: "198.51.100.66",
  x_original_url: "/admin",
};

const FORGED_VALUES = /198\.51\.100\.66|evil|2001:db8::bad|\/admin|8443/;

/** Only what keygate set: no header of the origin's view carries a forged value. */
function expectNothingForged(echo: Echo): void {
  for (const [name, value] of Object.entries(echo.headers)) expect(`${name}: ${value}`).not.toMatch(FORGED_VALUES);
  for (const name of ["true-client-ip", "x-client-ip", "client-ip", "x-cluster-client-ip", "fastly-client-ip", "x-original-forwarded-for", "x-original-url", "x-rewrite-url", "x-original-host", "x-host", "x-forwarded-prefix", "x-forwarded-server"]) {
    expect(echo.headers[name], name).toBeUndefined();
  }
  expect(Object.keys(echo.headers).filter((name) => name.includes("_"))).toEqual([]);
}

describe("forwarding headers", () => {
  it("are set from the client's address, host and scheme, replacing every one the client sent", async () => {
    const key = await createKey();
    const echo = await echoOf(await gateway("/fwd", { headers: { "x-api-key": key.key, "cf-connecting-ip": "203.0.113.7", ...FORGED } }));
    expect(echo.headers).toMatchObject({
      forwarded: "for=203.0.113.7;host=api.example.com;proto=https",
      "x-forwarded-for": "203.0.113.7",
      "x-real-ip": "203.0.113.7",
      "x-forwarded-host": "api.example.com",
      "x-forwarded-proto": "https",
      "x-forwarded-port": "443",
    });
    expectNothingForged(echo);
  });

  it("quote an IPv6 client as RFC 7239 asks, and name IPv4-mapped clients by their IPv4 address", async () => {
    const key = await createKey();
    const v6 = await echoOf(await gateway("/fwd", { headers: { "x-api-key": key.key, "cf-connecting-ip": "2001:DB8::7" } }));
    expect(v6.headers.forwarded).toBe('for="[2001:db8::7]";host=api.example.com;proto=https');
    expect(v6.headers["x-forwarded-for"]).toBe("2001:db8::7");
    const mapped = await echoOf(await gateway("/fwd", { headers: { "x-api-key": key.key, "cf-connecting-ip": "::ffff:192.0.2.9" } }));
    expect(mapped.headers["x-forwarded-for"]).toBe("192.0.2.9");
  });

  it("name no client when keygate knows none (no CF-Connecting-IP, or something that is no address)", async () => {
    const key = await createKey();
    for (const ip of [undefined, "not-an-ip", "203.0.113.7, 198.51.100.66", "999.1.1.1"]) {
      const headers: Record<string, string> = { "x-api-key": key.key, ...FORGED };
      if (ip) headers["cf-connecting-ip"] = ip;
      const echo = await echoOf(await gateway("/fwd", { headers }));
      expect(echo.headers.forwarded, ip).toBe("host=api.example.com;proto=https");
      expect(echo.headers["x-forwarded-for"], ip).toBeUndefined();
      expect(echo.headers["x-real-ip"], ip).toBeUndefined();
      expectNothingForged(echo);
    }
  });

  it("are replaced on public paths and preflights too, where no key is checked", async () => {
    const pub = await echoOf(await gateway("/public/x", { headers: { "cf-connecting-ip": "203.0.113.8", ...FORGED } }));
    expect(pub.headers["x-forwarded-for"]).toBe("203.0.113.8");
    expectNothingForged(pub);
    const preflight = await echoOf(
      await gateway("/x", { method: "OPTIONS", headers: { origin: "https://app.example.com", "access-control-request-method": "PUT", ...FORGED } }),
    );
    expectNothingForged(preflight);
  });
});

describe("URLs of the origin in response headers", () => {
  const origin = () => new URL(originUrl());
  /** A response from the origin with these headers, through keygate with `key`. */
  async function respond(key: string, headers: [string, string][], status = 302, base = ""): Promise<Response> {
    const query = new URLSearchParams([["status", String(status)], ...headers]);
    const res = await gateway(`${base}/__origin/respond?${query}`, { headers: { "x-api-key": key }, redirect: "manual" });
    await res.arrayBuffer();
    return res;
  }

  it.each([
    ["an absolute URL", (o: URL) => `${o.origin}/next?x=1#top`, "https://api.example.com/next?x=1#top"],
    ["the origin's host in capitals", (o: URL) => `http://${o.host.toUpperCase()}/next`, "https://api.example.com/next"],
    ["another scheme and port of the origin's host", (o: URL) => `https://${o.hostname}:9/next`, "https://api.example.com/next"],
    ["a scheme-relative URL", (o: URL) => `//${o.host}/next`, "https://api.example.com/next"],
    ["a bare path", () => "/next", "/next"],
    ["a relative path", () => "next/step", "next/step"],
    ["another host", () => "https://login.example.org/next", "https://login.example.org/next"],
  ])("Location with %s points at the client's address", async (_, location, expected) => {
    const key = await createKey();
    const res = await respond(key.key, [["location", location(origin())]]);
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe(expected);
  });

  it("takes ORIGIN_URL_TEST's base path off for a test key, in full URLs and bare paths", async () => {
    const key = await createKey({ environment: "test" });
    const o = origin();
    expect((await respond(key.key, [["location", `${o.origin}/test-env/next?x=1`]])).headers.get("location")).toBe("https://api.example.com/next?x=1");
    expect((await respond(key.key, [["location", "/test-env/next"]])).headers.get("location")).toBe("/next");
    expect((await respond(key.key, [["location", "/test-env"]])).headers.get("location")).toBe("/");
    expect((await respond(key.key, [["location", "/test-environment"]])).headers.get("location")).toBe("/test-environment");
  });

  it("rewrites Content-Location, Refresh, Link and a cookie's Domain and Path too", async () => {
    const key = await createKey({ environment: "test" });
    const o = origin();
    const res = await respond(
      key.key,
      [
        ["content-location", `${o.origin}/test-env/items/1`],
        ["refresh", `5; url=${o.origin}/test-env/later`],
        ["link", `<${o.origin}/test-env/items?page=2>; rel="next", <https://docs.example.org/x>; rel="help"`],
        ["set-cookie", `sid=abc; Domain=${o.hostname}; Path=/test-env/app; HttpOnly`],
        ["set-cookie", "theme=dark; Path=/"],
      ],
      200,
    );
    expect(res.headers.get("content-location")).toBe("https://api.example.com/items/1");
    expect(res.headers.get("refresh")).toBe("5; url=https://api.example.com/later");
    expect(res.headers.get("link")).toBe('<https://api.example.com/items?page=2>; rel="next", <https://docs.example.org/x>; rel="help"');
    expect(res.headers.getSetCookie()).toEqual(["sid=abc; Path=/app; HttpOnly", "theme=dark; Path=/"]);
    expect([...res.headers].map(([, value]) => value).join("\n")).not.toContain(o.host);
  });
});
