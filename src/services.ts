import { systemClock, type Clock } from "./clock";
import { readConfig, type Config } from "./config";
import { Guards } from "./guards/guard-client";
import { Throttle } from "./guards/throttle";
import { isolate as thisIsolate, type IsolateState } from "./isolate";
import { KeyStore } from "./store/key-store";
import { TokenStore } from "./store/token-store";

/**
 * What a request works with, built once per request (Unkey's `init()`): settings, the clock, D1,
 * the key store with this isolate's caches, the Durable Objects, the failed-attempt throttle.
 * Everything below the HTTP layer takes `(services, input)` and never a Hono Context.
 */
export interface Services {
  config: Config;
  clock: Clock;
  db: D1Database;
  keys: KeyStore;
  /** OAuth access tokens, found the way keys are. */
  tokens: TokenStore;
  guards: Guards;
  /** Every check of a credential or password runs through it (guards/throttle.ts). */
  throttle: Throttle;
  /** Work that may finish after the response (cache fills). */
  waitUntil(work: Promise<unknown>): void;
}

export interface ServiceOptions {
  isolate?: IsolateState;
  clock?: Clock;
}

export function createServices(env: Env, ctx: { waitUntil(work: Promise<unknown>): void }, options: ServiceOptions = {}): Services {
  const config = readConfig(env);
  const clock = options.clock ?? systemClock;
  const isolate = options.isolate ?? thisIsolate;
  const guards = new Guards(env);
  const waitUntil = (work: Promise<unknown>) => ctx.waitUntil(work);
  return {
    config,
    clock,
    db: env.DB,
    keys: new KeyStore(env, isolate.keyCaches, clock, waitUntil),
    tokens: new TokenStore(env, isolate.tokenCaches, clock, waitUntil),
    guards,
    throttle: new Throttle(guards, isolate.blockedClients, config, clock),
    waitUntil,
  };
}
