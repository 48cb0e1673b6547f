import { describe, expect, it } from "vitest";
import { createTenant, gateway, type Echo } from "../support/client";
import { authorizeAndExchange, registerClient } from "./support";

describe("the code flow in workerd", () => {
  it("issues tokens the gateway accepts, with the user's subject and the app's id for the origin", async () => {
    const client = await registerClient();
    const userTenant = await createTenant("User's company");
    const tokens = await authorizeAndExchange(client, { tenant_id: userTenant.id, subject: "user_42", scopes: ["read"] });
    expect(tokens).toMatchObject({ token_type: "Bearer", expires_in: 3600, scope: "read" });
    expect(tokens.access_token).toMatch(/^kg_at_/);
    expect(tokens.refresh_token).toMatch(/^kg_rt_/);
    const res = await gateway("/items", { headers: { authorization: `Bearer ${tokens.access_token}` } });
    const echo = (await res.json()) as Echo;
    expect(res.status).toBe(200);
    expect(echo.headers).toMatchObject({
      "x-keygate-key-id": tokens.grantId,
      "x-keygate-tenant-id": userTenant.id,
      "x-keygate-client-id": client.client_id,
      "x-keygate-subject": "user_42",
      "x-keygate-scopes": "read",
    });
  });
});
