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
    const found = problems.map((p) => `${p.severity} ${p.ruleId}: ${p.message} at ${p.location[0]?.pointer ?? "?"}`);
    // Some endpoints cannot answer as the rules expect of an API call, by their RFCs: the metadata
    // documents (RFC 8414, RFC 9728) are the same for every request, with no client error to give;
    // the authorization endpoint (RFC 6749 §4.1) and single sign-on's two legs (OpenID Connect's
    // code flow) are browser navigations, answered only with redirects.
    const byTheirRfcs = [
      "warn operation-4xx-response: Operation must have at least one `4XX` response. at #/paths/~1.well-known~1oauth-authorization-server/get/responses",
      "warn operation-4xx-response: Operation must have at least one `4XX` response. at #/paths/~1.well-known~1oauth-protected-resource/get/responses",
      "warn operation-2xx-response: Operation must have at least one `2XX` response. at #/paths/~1_keygate~1oauth~1authorize/get/responses",
      "warn operation-2xx-response: Operation must have at least one `2XX` response. at #/paths/~1_keygate~1v1~1sso~1start/get/responses",
      "warn operation-2xx-response: Operation must have at least one `2XX` response. at #/paths/~1_keygate~1v1~1sso~1callback/get/responses",
    ];
    expect(found.filter((problem) => !byTheirRfcs.includes(problem))).toEqual([]);
  });

  it("names its server: the host it was asked on", async () => {
    const document = (await (await fetch(`${keygate.url}/_keygate/openapi.json`)).json()) as { servers: { url: string }[] };
    expect(document.servers.map((server) => server.url)).toEqual([keygate.url]);
  });
});
