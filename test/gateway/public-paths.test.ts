import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { isPublicPath } from "../../src/authority/routes";
import { readConfig } from "../../src/config";
import { createKey, errorOf, gateway, originUrl } from "../support/client";
import { callWorker, echoOf, unknownKey } from "./helpers";

/** What passes without a key: CORS preflights and PUBLIC_PATHS (/health and /public/* in the tests). */

describe("CORS preflight", () => {
  it("goes to the origin without a key, as an anonymous request", async () => {
    const res = await gateway("/servers/1", {
      method: "OPTIONS",
      headers: { origin: "https://app.example.com", "access-control-request-method": "DELETE", "access-control-request-headers": "x-api-key" },
    });
    const echo = await echoOf(res);
    expect(echo.method).toBe("OPTIONS");
    expect(echo.path).toBe("/servers/1");
    expect(echo.headers["access-control-request-method"]).toBe("DELETE");
    expect(echo.headers["x-keygate-key-id"]).toBeUndefined();
    expect(echo.headers["x-keygate-signature"]).toBeUndefined();
    expect(echo.headers["x-request-id"]).toBe(res.headers.get("x-request-id"));
  });

  it("an OPTIONS request that is not a preflight still needs a key", async () => {
    const error = await errorOf(await gateway("/servers/1", { method: "OPTIONS", headers: { origin: "https://app.example.com" } }));
    expect([error.status, error.error.code]).toEqual([401, "missing_credentials"]);
  });

  it("other methods with Access-Control-Request-Method are no preflight", async () => {
    const error = await errorOf(await gateway("/x", { method: "GET", headers: { "access-control-request-method": "GET" } }));
    expect([error.status, error.error.code]).toEqual([401, "missing_credentials"]);
  });

  it("cannot smuggle an identity to the origin", async () => {
    const echo = await echoOf(
      await gateway("/x", {
        method: "OPTIONS",
        headers: {
          origin: "https://app.example.com",
          "access-control-request-method": "POST",
          "x-keygate-key-id": "key_forged",
          "x-keygate-tenant-id": "ten_forged",
          x_keygate_key_id: "key_forged_underscore",
        },
      }),
    );
    expect(echo.headers["x-keygate-key-id"]).toBeUndefined();
    expect(echo.headers["x-keygate-tenant-id"]).toBeUndefined();
    expect(echo.headers["x_keygate_key_id"]).toBeUndefined();
  });

  it("without an Origin header it is no preflight and needs a key", async () => {
    const error = await errorOf(await gateway("/x", { method: "OPTIONS", headers: { "access-control-request-method": "POST" } }));
    expect([error.status, error.error.code]).toEqual([401, "missing_credentials"]);
  });

  it("reaches the origin without a body", async () => {
    const echo = await echoOf(
      await gateway("/x", { method: "OPTIONS", headers: { origin: "https://app.example.com", "access-control-request-method": "POST" }, body: "smuggled" }),
    );
    expect(echo.bodyLength).toBe(0);
  });
});

describe("PUBLIC_PATHS", () => {
  it.each(["/health", "/health?full=1", "/public", "/public/x", "/public/x?y=1", "/public/x.json", "/public/caf%C3%A9.png"])("%s passes without a key", async (path) => {
    const echo = await echoOf(await gateway(path));
    expect(echo.path).toBe(path.split("?")[0]);
    expect(echo.headers["x-keygate-key-id"]).toBeUndefined();
  });

  it.each(["/healthz", "/health/deep", "/public/x/y", "/publicity", "/x/public/y", "/"])("%s still needs a key", async (path) => {
    const error = await errorOf(await gateway(path));
    expect([error.status, error.error.code]).toEqual([401, "missing_credentials"]);
  });

  it.each(["/public/..%2Fsecret", "/public/..%2fsecret", "/public/%2E%2E%2Fsecret", "/public/..%5Csecret", "/public/x%2Fy", "/public/..;/secret"])(
    "%s is not public: an encoded separator could lead a decoding origin elsewhere",
    async (path) => {
      const error = await errorOf(await gateway(path));
      expect([error.status, error.error.code]).toEqual([401, "missing_credentials"]);
    },
  );

  it("/public/../secret needs a key", async () => {
    const error = await errorOf(await gateway("/public/../secret"));
    expect([error.status, error.error.code]).toEqual([401, "missing_credentials"]);
  });

  it("passes for any method, and with whatever key or none, without judging it", async () => {
    const variants: Record<string, string>[] = [{}, { "x-api-key": unknownKey() }, { "x-api-key": "garbage" }];
    for (const headers of variants) {
      const echo = await echoOf(await gateway("/public/form", { method: "POST", headers, body: "a=1" }));
      expect(echo.method).toBe("POST");
      expect(echo.headers["x-keygate-key-id"]).toBeUndefined();
    }
  });

  it("strips client-sent identity headers and does not pass an x-api-key on to the origin", async () => {
    const key = await createKey();
    const echo = await echoOf(await gateway("/health", { headers: { "x-api-key": key.key, "x-keygate-key-id": "key_forged" } }));
    expect(echo.headers["x-keygate-key-id"]).toBeUndefined();
    expect(echo.headers["x-api-key"]).toBeUndefined();
  });

  it("does not pass on a key sent as a Bearer token or Basic user, but leaves other Authorization alone", async () => {
    const key = await createKey();
    for (const authorization of [`Bearer ${key.key}`, `Basic ${btoa(`${key.key}:`)}`]) {
      const echo = await echoOf(await gateway("/health", { headers: { authorization } }));
      expect(echo.headers.authorization, authorization).toBeUndefined();
    }
    const echo = await echoOf(await gateway("/health", { headers: { authorization: "Bearer some.user.jwt" } }));
    expect(echo.headers.authorization).toBe("Bearer some.user.jwt");
  });
});

/**
 * A rule that exempts applies to exactly the spellings the operator wrote: with PUBLIC_PATHS
 * "/health,/public/*", every other spelling of those paths needs a key, and none reaches the origin.
 */
describe("public paths fail closed", () => {
  /** Every other spelling of the public path `/${h}` and the glob `/${p}/*`. */
  const spellings = (h: string, p: string) => {
    const escapedFirst = `%${h.charCodeAt(0).toString(16)}${h.slice(1)}`;
    const capital = (word: string) => word[0]!.toUpperCase() + word.slice(1);
    return [
      // a trailing, repeated or backslashed slash
      `/${h}/`, `/${h}//`, `//${h}`, `/${h}\\`, `/${p}/`, `/${p}//x`, `/${p}/x/`, `//${p}/x`,
      // dot segments and trailing dots or spaces (Windows)
      `/${h}/.`, `/${h}/./`, `/${p}/x/.`, `/${h}.`, `/${p}/x.`, `/${h}%20`, `/${p}/x%20`,
      // another case
      `/${h.toUpperCase()}`, `/${capital(h)}`, `/${p.toUpperCase()}/x`, `/${capital(p)}`,
      // escapes: of a slash, backslash, dot, percent or NUL, twice over, or of a plain letter
      `/${h}%2F`, `/${h}%2f`, `/${h}%5C`, `/${h}%2E`, `/${h}%252F`, `/${h}%00`, `/${escapedFirst}`, `/${p}/x%2Fy`, `/${p}/%2e%2e`, `/${p}/x%00`,
      // matrix parameters and format suffixes
      `/${h};x`, `/${h};`, `/${p}/x;y=1`, `/${h}.json`, `/${h}.json/`,
      // look-alikes
      `/${h}z`, `/${h}/deep`, `/${p}/x/y`, `/${p}ity`,
    ];
  };

  it.each(spellings("health", "public"))("%s needs a key (PUBLIC_PATHS=/health,/public/*)", async (path) => {
    const error = await errorOf(await gateway(path));
    expect([error.status, error.error.code], path).toEqual([401, "missing_credentials"]);
  });

  it("none of them reaches the origin in any form, while the plain spelling does", async () => {
    const id = crypto.randomUUID().slice(0, 8);
    const [h, p] = [`up${id}`, `files${id}`];
    const settings = { PUBLIC_PATHS: `/${h},/${p}/*` };
    for (const path of spellings(h, p)) {
      const res = await callWorker(path, {}, settings);
      expect(res.status, path).toBe(401);
      await res.body?.cancel();
    }
    const reached = async () => Object.keys(await (await fetch(`${originUrl()}/__origin/paths`)).json()).filter((seen) => decodeURIComponent(seen).toLowerCase().includes(id));
    expect(await reached()).toEqual([]);
    // Not vacuous: the path as written does get through, and is seen there.
    expect((await callWorker(`/${h}`, {}, settings)).status).toBe(200);
    expect(await reached()).toEqual([`/${h}`]);
  });

  // The URL parser resolves these before a request is even made, so they are tried as a client
  // that sends the path as is (curl --path-as-is) would have keygate read them.
  it.each(["/./health", "/health/.", "/health/./", "/x/../health", "/health/..", "/public/./x", "/public/x/..", "/health\\", "/public\\x"])(
    "%s, as sent, is not public",
    (path) => {
      expect(isPublicPath(readConfig(env), path)).toBe(false);
    },
  );

  it("the plain spellings are, as the check reads them", () => {
    for (const path of ["/health", "/public", "/public/x", "/public/x.json"]) expect(isPublicPath(readConfig(env), path), path).toBe(true);
  });

  it("an entry without a wildcard makes exactly its own spelling public, a file name with its suffix too", () => {
    const rules = readConfig({ ...env, PUBLIC_PATHS: "/robots.txt,/.well-known/security.txt,/assets/*.css" } as typeof env);
    for (const path of ["/robots.txt", "/.well-known/security.txt"]) expect(isPublicPath(rules, path), path).toBe(true);
    for (const path of ["/robots", "/robots.txt/", "/ROBOTS.TXT", "/robots.txt.", "/robots.txt;x", "//robots.txt", "/robots.json", "/.well-known/security"]) {
      expect(isPublicPath(rules, path), path).toBe(false);
    }
    // A glob still fails closed where an origin that routes by format suffix would read the path
    // as another (`/assets/x.css` as `/assets/x`, which the glob does not make public).
    expect(isPublicPath(rules, "/assets/site.css")).toBe(false);
  });
});
