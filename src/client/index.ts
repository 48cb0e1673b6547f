/**
 * `keygate`: the types of keygate's `Keygate` service binding, for a Worker that calls
 * `env.KEYGATE.verify(…)` itself. With Hono, `keygate/hono` does the call and the answer for you.
 *
 *   import type { KeygateBinding } from "keygate";
 *   interface Env { KEYGATE: KeygateBinding }
 *   const result = await env.KEYGATE.verify({ key, method: request.method, path: url.pathname });
 */
export type { KeygateBinding, KeygateIdentity, VerifyResult } from "./hono";
