import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { createKey, errorOf, originCounts, uniqueIp, type Created } from "../support/client";
import { basic, callWorker, echoOf, storedState, unknownKey } from "./helpers";

/**
 * Issue 2's bad-input list on the gateway. Each gets its status and code, never reaches the origin,
 * and leaves D1 and KV exactly as they were (the worker's waitUntil work included).
 */

let real: Created; // a valid key, to show that wrapping a real key badly does not let it through
beforeAll(async () => {
  real = await createKey({ name: "bad input" });
});

const TEN_KB = "A".repeat(10 * 1024);

type Case = [name: string, status: number, code: string, headers: () => Record<string, string>];

const cases: Case[] = [
  ["an empty x-api-key", 401, "missing_credentials", () => ({ "x-api-key": "" })],
  ["an x-api-key of only spaces and commas", 401, "missing_credentials", () => ({ "x-api-key": "  ,  , " })],
  ["an empty Authorization", 401, "missing_credentials", () => ({ authorization: "" })],
  ["Bearer with no token", 401, "missing_credentials", () => ({ authorization: "Bearer" })],
  ["Bearer with only spaces", 401, "missing_credentials", () => ({ authorization: "Bearer    " })],
  ["Basic with nothing", 401, "missing_credentials", () => ({ authorization: "Basic" })],
  ["Basic with an empty user and password", 401, "missing_credentials", () => ({ authorization: basic("") })],
  ["Basic with invalid base64", 401, "invalid_key", () => ({ authorization: "Basic %%%not*base64%%%" })],
  ["Basic with a real key and a password", 401, "invalid_key", () => ({ authorization: basic(real.key, "hunter2") })],
  ["Basic with a real key and no colon", 401, "invalid_key", () => ({ authorization: `Basic ${btoa(real.key)}` })],
  ["Basic with the key as password", 401, "invalid_key", () => ({ authorization: basic("", real.key) })],
  ["an unknown scheme", 401, "missing_credentials", () => ({ authorization: `Digest username="${real.key}"` })],
  ["a bare key in Authorization", 401, "missing_credentials", () => ({ authorization: real.key })],
  ["a Token scheme carrying a real key", 401, "missing_credentials", () => ({ authorization: `Token ${real.key}` })],
  ["a 10 KB x-api-key", 401, "invalid_key", () => ({ "x-api-key": `kg_live_${TEN_KB}` })],
  ["a 10 KB Bearer token", 401, "invalid_key", () => ({ authorization: `Bearer kg_live_${TEN_KB}` })],
  ["a 10 KB Basic user", 401, "invalid_key", () => ({ authorization: basic(`kg_live_${TEN_KB}`) })],
  ["a 10 KB value after a real key", 401, "invalid_key", () => ({ "x-api-key": real.key + TEN_KB })],
  // Header values are byte strings: each character up to \xff travels as one raw byte, not UTF-8.
  ["non-UTF-8 bytes in x-api-key", 401, "invalid_key", () => ({ "x-api-key": "kg_live_\xff\xfe\xfd\x80\x81AAAAAAAAAAAAAAAAAAAAAAAA" })],
  ["a real key with a non-UTF-8 byte appended", 401, "invalid_key", () => ({ "x-api-key": `${real.key}\xe9` })],
  ["non-UTF-8 bytes in a Basic user", 401, "invalid_key", () => ({ authorization: `Basic ${btoa("\xff\xfe\xe9:")}` })],
  ["SQL in x-api-key", 401, "invalid_key", () => ({ "x-api-key": "kg_live_' OR '1'='1' --" })],
  ["SQL in a Bearer token", 401, "invalid_key", () => ({ authorization: "Bearer '; DROP TABLE api_keys; --" })],
  ["SQL in a Basic user", 401, "invalid_key", () => ({ authorization: basic("x' UNION SELECT key_hash FROM api_keys --") })],
  ["a real key in upper case", 401, "invalid_key", () => ({ "x-api-key": real.key.toUpperCase() })],
  ["a real key and a different one", 400, "ambiguous_credentials", () => ({ "x-api-key": real.key, authorization: `Bearer ${unknownKey()}` })],
];

describe("bad credentials on the gateway", () => {
  it.each(cases)("%s: %i %s, nothing stored, nothing forwarded", async (_, status, code, headers) => {
    const before = await storedState();
    const seen = (await originCounts())[real.id] ?? 0;
    const res = await callWorker("/bad", { method: "POST", headers: { ...headers(), "cf-connecting-ip": uniqueIp() }, body: "{}" });
    const error = await errorOf(res);
    expect([error.status, error.error.code]).toEqual([status, code]);
    expect(JSON.stringify(error)).not.toContain(real.key);
    expect(await storedState()).toEqual(before);
    expect((await originCounts())[real.id] ?? 0).toBe(seen);
  });

  it("the real key itself still works afterwards", async () => {
    const echo = await echoOf(await callWorker("/bad", { headers: { "x-api-key": real.key } }));
    expect(echo.headers["x-keygate-key-id"]).toBe(real.id);
  });
});

describe("hostile paths and queries with a valid key", () => {
  it("are forwarded verbatim and touch no table", async () => {
    const before = await storedState();
    const path = "/items/1%27%3B%20DROP%20TABLE%20api_keys%3B--?name=%27%20OR%201%3D1--&q=%22%3B";
    const echo = await echoOf(await callWorker(path, { headers: { "x-api-key": real.key } }));
    expect(echo.path + echo.query).toBe(path);
    const after = await storedState();
    expect([after.tenants, after.apiKeys, after.auditEvents]).toEqual([before.tenants, before.apiKeys, before.auditEvents]);
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM api_keys WHERE id = ?").bind(real.id).first("n")).toBe(1);
  });
});
