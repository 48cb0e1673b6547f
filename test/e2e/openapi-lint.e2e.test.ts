import { createConfig, lintFromString } from "@redocly/openapi-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startKeygate, type Keygate } from "./support.mjs";

// The admin API's document, as a running keygate serves it, linted with Redocly's recommended
// rules: every operation named and grouped, the servers named, nothing a generated client or the
// reference page would stumble on.

let keygate: Keygate;

beforeAll(async () => {
  keygate = await startKeygate();
}, 180_000);

afterAll(async () => {
  await keygate?.stop();
});

describe("the OpenAPI document", () => {
  it("lints clean with Redocly's recommended rules", async () => {
    const source = await (await fetch(`${keygate.url}/_keygate/openapi.json`)).text();
    // One rule off, on purpose: keygate has no license of its own to declare (package.json is
    // private and names none), and the API a deployment serves is its operator's to license.
    const config = await createConfig({ extends: ["recommended"], rules: { "info-license": "off" } });
    const problems = await lintFromString({ source, absoluteRef: "openapi.json", config });
    expect(problems.map((p) => `${p.severity} ${p.ruleId}: ${p.message} at ${p.location[0]?.pointer ?? "?"}`)).toEqual([]);
  });

  it("names its server: the host it was asked on", async () => {
    const document = (await (await fetch(`${keygate.url}/_keygate/openapi.json`)).json()) as { servers: { url: string }[] };
    expect(document.servers.map((server) => server.url)).toEqual([keygate.url]);
  });
});
