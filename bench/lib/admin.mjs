// keygate's real admin API, as an operator would call it.
import { ADMIN_TOKEN } from "./runtime.mjs";

async function call(base, method, path, body) {
  const res = await fetch(`${base}/_keygate/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** `quotas`: the tenant's quota per environment, as the admin API takes them (`{ live: { limit, period } }`). */
export const createTenant = (base, name, quotas) => call(base, "POST", "/tenants", quotas ? { name, quotas } : { name });

/** `limit` requests per `windowSeconds`; resolves with the key's id and plaintext. */
export async function createKey(base, tenantId, limit, windowSeconds) {
  const key = await call(base, "POST", "/keys", { tenant_id: tenantId, rate_limit: { limit, window_seconds: windowSeconds } });
  return { id: key.id, key: key.key };
}

/** Creates `count` keys, a few at a time (the admin path writes a Durable Object, D1 and KV each). */
export async function createKeys(base, tenantId, count, limit, windowSeconds, parallel = 8) {
  const keys = new Array(count);
  let next = 0;
  const lane = async () => {
    while (next < count) {
      const i = next++;
      keys[i] = await createKey(base, tenantId, limit, windowSeconds);
    }
  };
  await Promise.all(Array.from({ length: parallel }, lane));
  return keys;
}

export const revokeKey = (base, keyId) => call(base, "POST", `/keys/${keyId}/revoke`);
