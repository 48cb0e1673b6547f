import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AdminEnv } from "./context";
import { pageSecurity, staticFile } from "./docs";

export const CONSOLE_PATH = "/_keygate/console";

/**
 * The console's one HTML page: a shell that loads the client bundle (built by
 * scripts/build-assets.mjs into static/_keygate/console/) from this origin. No inline script or
 * style, so the page runs under the docs page's CSP; the app routes by the URL's #fragment.
 */
const CONSOLE_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>keygate console</title>
<link rel="stylesheet" href="${CONSOLE_PATH}/console.css">
<script type="module" src="${CONSOLE_PATH}/console.js"></script>
</head>
<body>
<div id="app"><noscript>The keygate console needs JavaScript.</noscript></div>
</body>
</html>
`;

/** `/_keygate/` opens the console; the page and its files get the strict page headers. */
export function serveConsole(app: OpenAPIHono<AdminEnv>): void {
  app.use("/_keygate/", pageSecurity());
  app.get("/_keygate/", (c) => c.redirect(CONSOLE_PATH, 302));
  app.use(CONSOLE_PATH, pageSecurity());
  app.use(`${CONSOLE_PATH}/*`, pageSecurity());
  app.get(CONSOLE_PATH, (c) => c.html(CONSOLE_PAGE));
  app.get(`${CONSOLE_PATH}/:file`, staticFile);
}
