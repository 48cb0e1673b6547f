import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { EXPORT_FORMATS } from "../authority/plan";
import { ApiError } from "../http/errors";
import { getTenant } from "../store/tenant-repo";
import { tenantUsage } from "../store/usage-repo";
import { DAY_MS, denseSeries, type CodeCounts, type UsagePoint } from "../usage/buckets";
import type { AdminEnv } from "./context";
import { toCsv } from "./csv";
import { ownEnvironment, ownTenant, permit } from "./permissions";
import { guardedErrors } from "./responses";
import { IdParam, TenantId } from "./schemas";
import { iso } from "./time";
import { MAX_RANGE_DAYS, RANGE_NOTE, usageRange } from "./usage";
import { validationHook } from "./validation";

export const usageExportRoutes = new OpenAPIHono<AdminEnv>({ defaultHook: validationHook });

/** A day (midnight UTC) or an instant. */
const Day = z
  .union([z.iso.date(), z.iso.datetime({ offset: true })])
  .transform((value) => Date.parse(value))
  .openapi({ type: "string", example: "2026-11-01" });

/** The columns of the export, in order: the CSV's header row, each day's fields in the JSON. */
const COLUMNS = ["admitted_requests", "cost_units", "rate_limited", "usage_exceeded", "quota_exceeded", "other_refusals"] as const;
type Column = (typeof COLUMNS)[number];

const ExportDay = z.object({
  date: z.string().openapi({ example: "2026-11-01" }),
  admitted_requests: z.number().openapi({ description: "Requests admitted (and verifications that answered valid with a cost): what reached the origin." }),
  cost_units: z.number().openapi({ description: "Cost units they spent (ROUTE_COSTS; 1 a request without a rule): what credits and quotas count." }),
  rate_limited: z.number().openapi({ description: "Refused by one of a key's rate windows (429 rate_limit_exceeded)." }),
  usage_exceeded: z.number().openapi({ description: "Refused for want of a key's credits (429 usage_exceeded)." }),
  quota_exceeded: z.number().openapi({ description: "Refused by the tenant's quota (429 quota_exceeded)." }),
  other_refusals: z.number().openapi({ description: "Every other refusal of the tenant's keys: revoked, expired, suspended tenant, missing scope, deleted key." }),
});

const UsageExport = z
  .object({
    object: z.literal("usage_export"),
    tenant_id: z.string(),
    tenant_name: z.string(),
    from: z.string().openapi({ description: "Start of the first day (UTC)." }),
    to: z.string().openapi({ description: "End of the last day (exclusive)." }),
    days: z.array(ExportDay).openapi({ description: "Every UTC day of the range, oldest first, empty ones included." }),
    totals: ExportDay.omit({ date: true }),
  })
  .openapi("UsageExport");

/** One day's (or the range's) counts in the export's columns. */
function exportRow(point: UsagePoint): Record<Column, number> {
  const { usage_exceeded = 0, quota_exceeded = 0, ...others } = point.refused;
  return {
    admitted_requests: point.admitted,
    cost_units: point.units,
    rate_limited: point.rate_limited,
    usage_exceeded,
    quota_exceeded,
    other_refusals: Object.values(others).reduce((sum, n) => sum + n, 0),
  };
}

usageExportRoutes.openapi(
  createRoute({
    method: "get",
    path: "/tenants/{id}/usage/export",
    summary: "Export a tenant's usage for billing",
    description:
      "Per UTC day: requests admitted and the cost units they spent, and refusals by kind. `from` and `to` are days (2026-11-01) or instants; both days are included. " +
      "`format=csv` answers a file a spreadsheet opens (a header row, one line per day, RFC 4180 quoting, UTF-8 with a byte order mark) as an attachment. " +
      `The figures are the tenant totals every key's object forwards to D1 (5 seconds after a change, at most once a minute per key): a busy key's last minute may not be in yet. ${RANGE_NOTE} ` +
      "Also open to the tenant's own key with scope `keys:manage` (its own environment's keys only).",
    middleware: [permit("read", { selfService: true })],
    request: {
      params: IdParam(TenantId),
      query: z.strictObject({
        from: Day.optional().openapi({ description: `Default: ${MAX_RANGE_DAYS} days before \`to\`.` }),
        to: Day.optional().openapi({ description: "Default: today." }),
        format: z.enum(EXPORT_FORMATS).default("json").openapi({ description: "Default: json." }),
      }),
    },
    responses: {
      200: {
        description: "The tenant's usage by day",
        content: {
          "application/json": { schema: UsageExport },
          "text/csv": { schema: z.string().openapi({ example: "tenant_id,tenant_name,date,admitted_requests,cost_units,rate_limited,usage_exceeded,quota_exceeded,other_refusals\r\n" }) },
        },
      },
      ...guardedErrors(400, 404),
    },
  }),
  async (c) => {
    const { services, principal } = c.var;
    const id = c.req.valid("param").id;
    const query = c.req.valid("query");
    const range = usageRange({ from: query.from, to: query.to, granularity: "day" }, services.clock.now());
    const own = ownTenant(principal);
    const tenant = own !== null && own !== id ? null : await getTenant(services.db, id);
    if (!tenant) throw new ApiError("not_found", "No such tenant.");
    const rows = await tenantUsage(services.db, id, { from: range.from, to: range.to, bucketMs: DAY_MS, environment: ownEnvironment(principal) });
    const { series, totals } = denseSeries(range, rows.buckets as Map<number, CodeCounts>);
    const days = series.map(({ start, ...point }) => ({ date: iso(start)!.slice(0, 10), ...exportRow(point) }));
    if (query.format === "json") {
      return c.json(
        { object: "usage_export" as const, tenant_id: id, tenant_name: tenant.name, from: iso(range.from)!, to: iso(range.to)!, days, totals: exportRow(totals) },
        200,
      );
    }
    const csv = toCsv(
      ["tenant_id", "tenant_name", "date", ...COLUMNS],
      days.map((day) => [id, tenant.name, day.date, ...COLUMNS.map((column) => day[column])]),
    );
    const filename = `keygate-usage-${id}-${days[0]!.date}-to-${days.at(-1)!.date}.csv`;
    return c.body(csv, 200, { "content-type": "text/csv; charset=utf-8", "content-disposition": `attachment; filename="${filename}"` });
  },
);
