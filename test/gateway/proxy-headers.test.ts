import { beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "../../src/clock";
import { createKey, gateway, type Created, type Echo } from "../support/client";
import { TEST_SIGNING_SECRET } from "../support/constants";
import { echoOf, randomBytes, sha256Hex } from "./helpers";

/** What the origin receives and what the client gets back, seen through the origin's JSON echo. */

let live: Created;
let test: Created;
beforeAll(async () => {
  live = await createKey({ scopes: ["read", "write", "servers"] });
  test = await createKey({ environment: "test", tenant_id: live.tenant_id });
});

const hex = (bytes: ArrayBuffer) => Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");

/** The check docs/gateway-and-origin.md shows, written out independently of src/proxy/signing.ts. */
async function expectedSignature(echo: Echo, overrides: Partial<Record<string, string>> = {}): Promise<string> {
  const h = echo.headers;
  const fields = {
    version: "v1",
    timestamp: h["x-keygate-timestamp"]!,
    method: echo.method,
    pathAndQuery: echo.path + echo.query,
    keyId: h["x-keygate-key-id"]!,
    tenantId: h["x-keygate-tenant-id"]!,
    environment: h["x-keygate-environment"]!,
    scopes: h["x-keygate-scopes"]!,
    requestId: h["x-request-id"]!,
    ...overrides,
  };
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(TEST_SIGNING_SECRET), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const signed = Object.values(fields).join("\n");
  return `v1=${hex(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(signed)))}`;
}

describe("identity headers", () => {
  it("tells the origin who is calling", async () => {
    const res = await gateway("/servers/7?verbose=1", { headers: { "x-api-key": live.key } });
    const echo = await echoOf(res);
    expect(echo.headers).toMatchObject({
      "x-keygate-key-id": live.id,
      "x-keygate-tenant-id": live.tenant_id,
      "x-keygate-environment": "live",
      "x-keygate-scopes": "read,write,servers",
      "x-request-id": res.headers.get("x-request-id"),
      "x-forwarded-host": "api.example.com",
      "x-forwarded-proto": "https",
    });
    expect(Math.abs(Number(echo.headers["x-keygate-timestamp"]) - systemClock.now() / 1000)).toBeLessThan(60);
  });

  it("replaces every client-sent x-keygate-* header and the client's x-request-id, whatever their case", async () => {
    const res = await gateway("/spoof", {
      headers: {
        "x-api-key": live.key,
        "x-keygate-key-id": "key_forged",
        "X-Keygate-Tenant-Id": "ten_forged",
        "X-KEYGATE-ENVIRONMENT": "live-forged",
        "x-keygate-scopes": "*",
        "x-keygate-timestamp": "1",
        "x-keygate-signature": "v1=forged",
        "x-keygate-admin": "true",
        "x-request-id": "req_forged",
      },
    });
    const echo = await echoOf(res);
    expect(echo.headers["x-keygate-key-id"]).toBe(live.id);
    expect(echo.headers["x-keygate-tenant-id"]).toBe(live.tenant_id);
    expect(echo.headers["x-keygate-environment"]).toBe("live");
    expect(echo.headers["x-keygate-scopes"]).toBe("read,write,servers");
    expect(echo.headers["x-keygate-signature"]).toBe(await expectedSignature(echo));
    expect(echo.headers["x-keygate-admin"]).toBeUndefined();
    expect(echo.headers["x-request-id"]).toBe(res.headers.get("x-request-id"));
    expect(echo.headers["x-request-id"]).not.toBe("req_forged");
    expect(JSON.stringify(echo)).not.toContain("forged");
  });

  it("sends test keys to ORIGIN_URL_TEST and live keys to ORIGIN_URL", async () => {
    const toTest = await echoOf(await gateway("/where?x=1", { headers: { "x-api-key": test.key } }));
    expect(toTest.path).toBe("/test-env/where");
    expect(toTest.query).toBe("?x=1");
    expect(toTest.headers["x-keygate-environment"]).toBe("test");
    const toLive = await echoOf(await gateway("/where?x=1", { headers: { "x-api-key": live.key } }));
    expect(toLive.path).toBe("/where");
  });
});

describe("the signature", () => {
  it.each([
    ["a live key", () => live, "GET", "/signed/path?b=2&a=1"],
    ["a test key (sent to a base path)", () => test, "POST", "/signed?q=%20x"],
    ["a path with escapes", () => live, "DELETE", "/a%2Fb/c%20d/%C3%A9"],
  ])("verifies over what the origin received, for %s", async (_, key, method, path) => {
    const echo = await echoOf(await gateway(path, { method, headers: { "x-api-key": key().key } }));
    expect(echo.headers["x-keygate-signature"]).toMatch(/^v1=[0-9a-f]{64}$/);
    expect(echo.headers["x-keygate-signature"]).toBe(await expectedSignature(echo));
  });

  it("stops verifying if any signed field is changed", async () => {
    const echo = await echoOf(await gateway("/signed?x=1", { headers: { "x-api-key": live.key } }));
    const genuine = echo.headers["x-keygate-signature"];
    expect(genuine).toBe(await expectedSignature(echo));
    const tampered: Record<string, string> = {
      timestamp: String(Number(echo.headers["x-keygate-timestamp"]) + 1),
      method: "POST",
      pathAndQuery: "/signed?x=2",
      keyId: test.id,
      tenantId: "ten_other",
      environment: "test",
      scopes: "*",
      requestId: "req_other",
    };
    for (const [field, value] of Object.entries(tampered)) {
      expect(await expectedSignature(echo, { [field]: value }), field).not.toBe(genuine);
    }
  });

  it("differs per request, even for the same key, method and path", async () => {
    const a = await echoOf(await gateway("/same", { headers: { "x-api-key": live.key } }));
    const b = await echoOf(await gateway("/same", { headers: { "x-api-key": live.key } }));
    expect(a.headers["x-keygate-signature"]).not.toBe(b.headers["x-keygate-signature"]);
  });
});

describe("hop-by-hop headers", () => {
  it("does not forward Connection, the headers it names, Keep-Alive, TE, Proxy-Authorization or Proxy-Connection", async () => {
    const echo = await echoOf(
      await gateway("/hops", {
        headers: {
          "x-api-key": live.key,
          connection: "close, x-hop-secret, X-Other-Hop",
          "x-hop-secret": "must-not-pass",
          "x-other-hop": "must-not-pass",
          "keep-alive": "timeout=5",
          te: "trailers",
          "proxy-authorization": "Basic cHJveHk6c2VjcmV0",
          "proxy-connection": "keep-alive",
          "x-end-to-end": "kept",
        },
      }),
    );
    expect(echo.headers["x-end-to-end"]).toBe("kept");
    for (const name of ["x-hop-secret", "x-other-hop", "keep-alive", "te", "proxy-authorization", "proxy-connection"]) {
      expect(echo.headers[name], name).toBeUndefined();
    }
    expect(echo.headers["connection"] ?? "").not.toMatch(/hop/i);
  });

  it("removes the origin's hop-by-hop headers from the response and keeps its end-to-end ones", async () => {
    // The echo origin answers with `Connection: keep-alive` (and Node adds `Keep-Alive`).
    const res = await gateway("/hops", { headers: { "x-api-key": live.key } });
    await echoOf(res);
    expect(res.headers.get("x-origin")).toBe("keygate-demo");
    expect(res.headers.get("connection")).toBeNull();
    expect(res.headers.get("keep-alive")).toBeNull();
  });
});

describe("what is forwarded", () => {
  it.each(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])("%s keeps its method, path and query", async (method) => {
    const res = await gateway("/things/42/sub?b=2&a=1&a=3&empty=&enc=%2F%26", {
      method,
      headers: { "x-api-key": live.key },
      body: ["GET", "HEAD", "OPTIONS"].includes(method) ? undefined : "x",
    });
    expect(res.status).toBe(200);
    if (method === "HEAD") return; // no body to read the echo from
    const echo = (await res.json()) as Echo;
    expect(echo.method).toBe(method);
    expect(echo.path).toBe("/things/42/sub");
    expect(echo.query).toBe("?b=2&a=1&a=3&empty=&enc=%2F%26");
  });

  it("streams a 1 MB request body to the origin byte for byte", async () => {
    const body = randomBytes(1024 * 1024);
    const echo = await echoOf(
      await gateway("/upload", { method: "POST", headers: { "x-api-key": live.key, "content-type": "application/octet-stream" }, body }),
    );
    expect(echo.bodyLength).toBe(body.length);
    expect(echo.bodySha256).toBe(await sha256Hex(body));
    expect(echo.headers["content-type"]).toBe("application/octet-stream");
  });

  it("streams a streamed (chunked) request body too", async () => {
    const chunks = Array.from({ length: 16 }, () => crypto.getRandomValues(new Uint8Array(64 * 1024)));
    const whole = new Uint8Array(16 * 64 * 1024);
    chunks.forEach((chunk, i) => whole.set(chunk, i * chunk.length));
    const pending = [...chunks];
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = pending.shift();
        if (next) controller.enqueue(next);
        else controller.close();
      },
    });
    const echo = await echoOf(await gateway("/upload", { method: "PUT", headers: { "x-api-key": live.key }, body: stream }));
    expect(echo.bodyLength).toBe(whole.length);
    expect(echo.bodySha256).toBe(await sha256Hex(whole));
  });

  it("streams a 4 MB response body back byte for byte", async () => {
    const bytes = 4 * 1024 * 1024;
    const res = await gateway(`/__origin/download?bytes=${bytes}`, { headers: { "x-api-key": live.key } });
    expect(res.status).toBe(200);
    const body = await res.arrayBuffer();
    expect(body.byteLength).toBe(bytes);
    expect(await sha256Hex(body)).toBe(res.headers.get("x-sha256"));
  });

  it("keeps other request headers the client sent, including a large one", async () => {
    const big = "v".repeat(10 * 1024);
    const echo = await echoOf(await gateway("/headers", { headers: { "x-api-key": live.key, "x-big": big, accept: "application/xml" } }));
    expect(echo.headers["x-big"]).toBe(big);
    expect(echo.headers["accept"]).toBe("application/xml");
  });
});
