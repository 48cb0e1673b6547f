import { Hono } from "hono";
import { keygate, type KeygateBinding, type KeygateVariables } from "keygate/hono";

interface Env {
  KEYGATE: KeygateBinding;
}

type AppEnv = { Bindings: Env; Variables: KeygateVariables };

const app = new Hono<AppEnv>();

app.get("/", (c) => c.text("hono-api: try /api/whoami with an API key"));

// Every /api route needs a valid key; keygate's ROUTE_SCOPES decide the scopes per method and path.
app.use("/api/*", keygate<AppEnv>({ binding: (c) => c.env.KEYGATE }));

app.get("/api/whoami", (c) => c.json(c.get("keygate")));

// A route that needs a scope of its own, whatever ROUTE_SCOPES say.
app.delete("/api/servers/:id", keygate<AppEnv>({ binding: (c) => c.env.KEYGATE, scopes: ["servers:delete"] }), (c) =>
  c.json({ deleted: c.req.param("id"), by: c.get("keygate").keyId }),
);

export default app;
