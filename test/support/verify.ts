import { exports } from "cloudflare:workers";
import app from "../../examples/hono-api/src/index";
import type { VerifyResult } from "../../src/client/hono";
import { admin, ADMIN_TOKEN } from "./client";

/** keygate's Keygate entrypoint through a real service binding, as another Worker holds it. */
export const keygateBinding = (exports as unknown as { Keygate: { verify(input: unknown): Promise<VerifyResult> } }).Keygate;

/** The hono-api example's own app, its KEYGATE binding being that service binding. */
export function honoApi(path: string, key: string | null, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (key !== null) headers.set("x-api-key", key);
  return Promise.resolve(app.fetch(new Request(`https://hono-api.example.com${path}`, { ...init, headers }), { KEYGATE: keygateBinding }));
}

/** POST /_keygate/v1/keys/verify with `body`: its status and JSON. */
export async function verifyOverHttp(body: unknown, token = ADMIN_TOKEN): Promise<{ status: number; body: VerifyResult & { error?: { code: string } } }> {
  const res = await admin("POST", "/keys/verify", body, token);
  return { status: res.status, body: await res.json() };
}
