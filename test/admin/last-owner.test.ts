import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { admin } from "../support/client";
import { adminUser, expectError, json } from "./support";

describe("the last owner", () => {
  it("cannot be deleted or demoted, so keygate always has someone who can manage admins", async () => {
    const keep = await adminUser("owner");
    const { results } = await env.DB.prepare("SELECT id FROM admins WHERE role = 'owner' AND id != ?").bind(keep.id).all<{ id: string }>();
    for (const { id } of results) expect((await admin("DELETE", `/admins/${id}`)).status).toBe(204);

    await expectError(await admin("DELETE", `/admins/${keep.id}`), 409, "conflict");
    await expectError(await admin("PATCH", `/admins/${keep.id}`, { role: "admin" }, keep.token), 409, "conflict");
    expect((await json<{ role: string }>(await admin("GET", `/admins/${keep.id}`), 200)).role).toBe("owner");

    // With a second owner, the first may step down.
    const second = await adminUser("owner");
    expect((await json<{ role: string }>(await admin("PATCH", `/admins/${keep.id}`, { role: "viewer" }, second.token), 200)).role).toBe("viewer");
    await expectError(await admin("DELETE", `/admins/${second.id}`, undefined, second.token), 409, "conflict");
  });
});
