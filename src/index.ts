import { adminApp } from "./admin/app";
import { handleGateway } from "./gateway/handler";

export { AttemptGuard } from "./ratelimit/attempt-guard";
export { KeyGuard } from "./ratelimit/key-guard";

/** keygate's own routes live under /_keygate/; every other path is the customer's API. */
const ADMIN_PREFIX = "/_keygate/";

export default {
  fetch(request, env, ctx) {
    const path = request.url.slice(request.url.indexOf("/", 8));
    if (path.startsWith(ADMIN_PREFIX)) return adminApp.fetch(request, env, ctx);
    return handleGateway(request, env, ctx);
  },
} satisfies ExportedHandler<Env>;
