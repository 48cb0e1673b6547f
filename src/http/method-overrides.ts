/**
 * The method-override headers common frameworks honour (Laravel, Symfony, Rails, Express's
 * method-override): the gateway requires the scopes of every method they name (gateway/overrides.ts),
 * and their underscore spellings never reach the origin (proxy/forward.ts).
 */
export const OVERRIDE_HEADERS = ["x-http-method-override", "x-method-override", "x-http-method"] as const;
