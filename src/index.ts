import { gatewayApp } from "./gateway/app";
import { isOAuthMetadataPath } from "./oauth/well-known";

export { AttemptGuard } from "./guards/attempt-guard";
export { KeyGuard } from "./guards/key-guard";
export { QuotaGuard } from "./guards/quota-guard";
export { Keygate } from "./gateway/entrypoint";
export { UsageForwarder } from "./usage/totals-forwarder";

/**
 * keygate's own routes live under /_keygate/, and its OAuth metadata at exactly two well-known
 * paths of the API's host (oauth/well-known.ts); every other path is the customer's API.
 */
const ADMIN_PREFIX = "/_keygate/";

// The admin API (zod schemas, OpenAPI registry) is loaded on its first call, so isolates that only
// serve the gateway never pay for building it.
let adminApp: Promise<typeof import("./admin/app").adminApp> | undefined;
const loadAdmin = () => (adminApp ??= import("./admin/app").then((m) => m.adminApp));

export default {
  async fetch(request, env, ctx) {
    const path = request.url.slice(request.url.indexOf("/", 8));
    if (path.startsWith(ADMIN_PREFIX) || isOAuthMetadataPath(path)) return (await loadAdmin()).fetch(request, env, ctx);
    return gatewayApp.fetch(request, env, ctx);
  },
} satisfies ExportedHandler<Env>;
