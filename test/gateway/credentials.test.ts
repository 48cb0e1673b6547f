import { describe, expect, it } from "vitest";
import { extractCredential } from "../../src/credentials/extract";
import { ApiError } from "../../src/http/errors";
import { generateKey, parseKey } from "../../src/keys/format";
import { createKey, errorOf, gateway, originCounts, type Created } from "../support/client";
import { basic, echoOf } from "./helpers";

/** The code extractCredential refuses with, or "ok:<key>|<carriers>". */
function outcome(headers: Record<string, string> | [string, string][]): string {
  try {
    const found = extractCredential(new Headers(headers), (candidate) => parseKey(candidate, "kg") !== null);
    return found ? `ok:${found.key}|${found.carriers.join(",")}` : "none";
  } catch (error) {
    if (error instanceof ApiError) return error.code;
    throw error;
  }
}

describe("each credential style, end to end through the proxy", () => {
  let key: Created;
  const styles = () => ({
    "x-api-key": { "x-api-key": key.key },
    "Authorization: Bearer": { authorization: `Bearer ${key.key}` },
    "Authorization: Basic base64(KEY:)": { authorization: basic(key.key) },
    "lower-case bearer scheme": { authorization: `bearer ${key.key}` },
    "upper-case BASIC scheme": { authorization: basic(key.key).replace("Basic", "BASIC") },
  });

  it.each(["x-api-key", "Authorization: Bearer", "Authorization: Basic base64(KEY:)", "lower-case bearer scheme", "upper-case BASIC scheme"])(
    "%s reaches the origin as the key's identity, without the credential",
    async (style) => {
      key ??= await createKey({ name: "styles" });
      const headers = styles()[style as keyof ReturnType<typeof styles>];
      const echo = await echoOf(await gateway("/v1/things?x=1", { headers }));
      expect(echo.headers["x-keygate-key-id"]).toBe(key.id);
      expect(echo.headers["x-keygate-tenant-id"]).toBe(key.tenant_id);
      expect(echo.headers["x-api-key"]).toBeUndefined();
      expect(echo.headers["authorization"]).toBeUndefined();
      expect(JSON.stringify(echo)).not.toContain(key.key);
      expect(JSON.stringify(echo)).not.toContain(btoa(`${key.key}:`));
    },
  );

  it("accepts the same key in x-api-key and Authorization, and strips both", async () => {
    const key = await createKey();
    for (const authorization of [`Bearer ${key.key}`, basic(key.key)]) {
      const echo = await echoOf(await gateway("/same", { headers: { "x-api-key": key.key, authorization } }));
      expect(echo.headers["x-keygate-key-id"]).toBe(key.id);
      expect(echo.headers["x-api-key"]).toBeUndefined();
      expect(echo.headers["authorization"]).toBeUndefined();
    }
  });

  it("accepts a repeated x-api-key header carrying the same key", async () => {
    const key = await createKey();
    const headers = new Headers([["x-api-key", key.key], ["x-api-key", key.key]]);
    const echo = await echoOf(await gateway("/twice", { headers }));
    expect(echo.headers["x-keygate-key-id"]).toBe(key.id);
    expect(echo.headers["x-api-key"]).toBeUndefined();
  });

  it("refuses two different valid keys with 400 ambiguous_credentials, before either reaches the origin", async () => {
    const [a, b] = await Promise.all([createKey(), createKey()]);
    const before = await originCounts();
    const attempts: HeadersInit[] = [
      { "x-api-key": a.key, authorization: `Bearer ${b.key}` },
      { "x-api-key": a.key, authorization: basic(b.key) },
      new Headers([["x-api-key", a.key], ["x-api-key", b.key]]),
    ];
    for (const headers of attempts) {
      const error = await errorOf(await gateway("/ambiguous", { headers }));
      expect(error.status).toBe(400);
      expect(error.error.code).toBe("ambiguous_credentials");
      expect(JSON.stringify(error)).not.toContain(a.key);
      expect(JSON.stringify(error)).not.toContain(b.key);
    }
    const after = await originCounts();
    expect(after[a.id] ?? 0).toBe(before[a.id] ?? 0);
    expect(after[b.id] ?? 0).toBe(before[b.id] ?? 0);
  });

  it.each(["Token origin-session-123", "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln", basic("alice", "origin-password")])(
    "leaves Authorization: %s to the origin when the key is in x-api-key",
    async (authorization) => {
      const key = await createKey();
      const echo = await echoOf(await gateway("/origin-auth", { headers: { "x-api-key": key.key, authorization } }));
      expect(echo.headers["x-keygate-key-id"]).toBe(key.id);
      expect(echo.headers["authorization"]).toBe(authorization);
      expect(echo.headers["x-api-key"]).toBeUndefined();
    },
  );
});

describe("credential parsing", () => {
  const K = generateKey("kg", "live");
  const L = generateKey("kg", "live");

  it("finds the key in each place and names the headers that carried it", () => {
    expect(outcome({ "x-api-key": K })).toBe(`ok:${K}|x-api-key`);
    expect(outcome({ authorization: `Bearer ${K}` })).toBe(`ok:${K}|authorization`);
    expect(outcome({ authorization: basic(K) })).toBe(`ok:${K}|authorization`);
    expect(outcome({ "x-api-key": K, authorization: `Bearer ${K}` })).toBe(`ok:${K}|x-api-key,authorization`);
    expect(outcome({ "x-api-key": `  ${K}  ` })).toBe(`ok:${K}|x-api-key`);
    expect(outcome({ authorization: `Bearer    ${K}` })).toBe(`ok:${K}|authorization`);
    expect(outcome([["x-api-key", K], ["x-api-key", K]])).toBe(`ok:${K}|x-api-key`);
  });

  it("treats absent and empty credentials as missing", () => {
    expect(outcome({})).toBe("none");
    expect(outcome({ "x-api-key": "" })).toBe("none");
    expect(outcome({ "x-api-key": " , " })).toBe("none");
    expect(outcome({ authorization: "" })).toBe("none");
    expect(outcome({ authorization: "Bearer" })).toBe("missing_credentials");
    expect(outcome({ authorization: "Bearer   " })).toBe("missing_credentials");
    expect(outcome({ authorization: "Basic" })).toBe("missing_credentials");
    expect(outcome({ authorization: `Basic ${btoa(":")}` })).toBe("missing_credentials");
    expect(outcome({ authorization: "Digest username=\"x\"" })).toBe("missing_credentials");
    expect(outcome({ authorization: K })).toBe("missing_credentials"); // a bare key is no scheme we know
  });

  it("refuses malformed Basic credentials as an invalid key", () => {
    expect(outcome({ authorization: "Basic !!!not-base64!!!" })).toBe("invalid_key");
    expect(outcome({ authorization: `Basic ${btoa(K)}` })).toBe("invalid_key"); // no colon
    expect(outcome({ authorization: basic(K, "secret") })).toBe("invalid_key"); // a password
    expect(outcome({ authorization: basic(K, ":") })).toBe("invalid_key");
  });

  it("refuses two different keys, in any combination of places", () => {
    expect(outcome({ "x-api-key": K, authorization: `Bearer ${L}` })).toBe("ambiguous_credentials");
    expect(outcome({ "x-api-key": K, authorization: basic(L) })).toBe("ambiguous_credentials");
    expect(outcome([["x-api-key", K], ["x-api-key", L]])).toBe("ambiguous_credentials");
    expect(outcome({ "x-api-key": `${K}, ${L}` })).toBe("ambiguous_credentials");
  });

  it("without x-api-key, Authorization must carry the key, however malformed it is", () => {
    expect(outcome({ authorization: "Token abc" })).toBe("missing_credentials");
    expect(outcome({ authorization: "Bearer eyJhbGciOiJIUzI1NiJ9.e30.x" })).toBe("ok:eyJhbGciOiJIUzI1NiJ9.e30.x|authorization");
    expect(outcome({ authorization: basic("alice", "secret") })).toBe("invalid_key");
  });

  it("beside a key in x-api-key, an Authorization that holds no key belongs to the origin", () => {
    const JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln";
    for (const authorization of ["Token abc", `Bearer ${JWT}`, basic("alice", "secret"), "Basic %%%", "Bearer", basic(K.slice(0, -1) + (K.endsWith("0") ? "1" : "0"))]) {
      expect(outcome({ "x-api-key": K, authorization }), authorization).toBe(`ok:${K}|x-api-key`);
    }
    // ... unless it holds the very key in another shape: then it is a carrier, kept from the origin.
    for (const authorization of [basic(K, "secret"), `Bearer ${K} extra`, `Token ${K}`]) {
      expect(outcome({ "x-api-key": K, authorization }), authorization).toBe(`ok:${K}|x-api-key,authorization`);
    }
    // ... and a second key is a second key, in whichever style.
    expect(outcome({ "x-api-key": K, authorization: `Bearer ${L}` })).toBe("ambiguous_credentials");
    expect(outcome({ "x-api-key": K, authorization: basic(L) })).toBe("ambiguous_credentials");
  });
});
