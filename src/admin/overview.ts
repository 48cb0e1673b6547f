import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { readOverview, type NamedKeyRow } from "../store/overview-repo";
import { bucketStart, DAY_MS, denseSeries, HOUR_MS, type UsageRange } from "../usage/buckets";
import type { AdminEnv } from "./context";
import { permit } from "./permissions";
import { guardedErrors, json } from "./responses";
import { AuditEvent, UsagePoint, UsageSeries } from "./schemas";
import { iso } from "./time";
import { validationHook } from "./validation";
import { auditView, seriesView } from "./views";

export const overviewRoutes = new OpenAPIHono<AdminEnv>({ defaultHook: validationHook });

/** The overview's usage: the current UTC hour and the 23 before it. */
const WINDOW_HOURS = 24;
/** Keys listed as expiring soon: those whose expiry falls within this. */
const EXPIRING_WITHIN_MS = 7 * DAY_MS;
/** Rows in each list of keys. */
const LISTED_KEYS = 10;
const LISTED_SIGNINS = 10;

const NamedKey = {
  key_id: z.string(),
  name: z.string().nullable(),
  display: z.string().openapi({ example: "kg_live_ab12…9xYz" }),
  tenant_id: z.string(),
  tenant_name: z.string(),
};

const Overview = z
  .object({
    object: z.literal("overview"),
    ...UsageSeries,
    busiest_keys: z
      .array(z.object({ ...NamedKey, ...UsagePoint.pick({ admitted: true, rate_limited: true }).shape, refused: z.number().openapi({ description: "Other refusals, all codes." }) }))
      .openapi({ description: `The keys with the most requests in the range (admitted and refused), at most ${LISTED_KEYS}.` }),
    refusals: z
      .array(z.object({ ...NamedKey, code: z.string().openapi({ example: "revoked_key" }), count: z.number() }))
      .openapi({ description: `Refused requests in the range by key and code (rate_limit_exceeded included), most first, at most ${LISTED_KEYS}.` }),
    expiring_keys: z
      .array(z.object({ ...NamedKey, expires_at: z.string(), rotated_to: z.string().nullable().openapi({ description: "Set while a rotated key's grace runs out." }) }))
      .openapi({ description: `Keys neither revoked nor deleted that expire within 7 days, soonest first, at most ${LISTED_KEYS}.` }),
    failed_signins: z
      .array(AuditEvent)
      .openapi({ description: `The newest signin.failed and signin.throttled events in the range, at most ${LISTED_SIGNINS}.` }),
  })
  .openapi("Overview");

overviewRoutes.openapi(
  createRoute({
    method: "get",
    path: "/overview",
    summary: "What happened across all tenants lately",
    description:
      `The last ${WINDOW_HOURS} hours over every tenant, from the tenant totals in D1 (a busy key's counts trail by up to a minute, as in a tenant's usage): ` +
      "requests by hour, the busiest keys, refusals by key and code, failed sign-ins; and the keys that expire within 7 days. " +
      "Requests with keys that do not exist reach no key's records: look an address up with GET /failed-attempts.",
    middleware: [permit("read")],
    request: { query: z.strictObject({}) },
    responses: { 200: json(Overview, "The overview"), ...guardedErrors(400) },
  }),
  async (c) => {
    const { services } = c.var;
    const now = services.clock.now();
    const to = bucketStart(now, "hour") + HOUR_MS;
    const range: UsageRange = { from: to - WINDOW_HOURS * HOUR_MS, to, granularity: "hour" };
    const rows = await readOverview(services.db, range, { from: now, to: now + EXPIRING_WITHIN_MS }, { keys: LISTED_KEYS, signins: LISTED_SIGNINS });
    const { series, totals } = denseSeries(range, rows.hours);
    const named = (row: NamedKeyRow) => ({ key_id: row.key_id, name: row.name, display: row.display, tenant_id: row.tenant_id, tenant_name: row.tenant_name });
    return c.json(
      {
        object: "overview" as const,
        ...seriesView(range, series, totals),
        busiest_keys: rows.busiest.map((row) => ({ ...named(row), admitted: row.admitted, rate_limited: row.rate_limited, refused: row.refused })),
        refusals: rows.refusals.map((row) => ({ ...named(row), code: row.code, count: row.count })),
        expiring_keys: rows.expiring.map((row) => ({ ...named(row), expires_at: iso(row.expires_at), rotated_to: row.rotated_to })),
        failed_signins: rows.failedSignins.map(auditView),
      },
      200,
    );
  },
);
