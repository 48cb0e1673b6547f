// The key format, ids, hashing and the quota object's name come from src/ itself (Node strips the types), so seeded
// keys are exactly what the worker issues and parses: there is no second copy of the format here.
import { registerHooks } from "node:module";

// src/ imports its siblings without an extension, as the bundler allows; Node needs the ".ts".
const SRC = new URL("../../src/", import.meta.url).href;
registerHooks({
  resolve(specifier, context, nextResolve) {
    if (specifier.startsWith(".") && context.parentURL?.startsWith(SRC) && !/\.[cm]?[jt]s$/.test(specifier)) {
      return nextResolve(`${specifier}.ts`, context);
    }
    return nextResolve(specifier, context);
  },
});

const format = await import("../../src/keys/format.ts");
const hash = await import("../../src/keys/hash.ts");
const random = await import("../../src/keys/random.ts");
const key = await import("../../src/authority/key.ts");

export const { generateKey, displayForm, parseKey } = format;
export const { hashKey } = hash;
export const { prefixedId } = random;
export const { quotaObject } = key;
