import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { addressBucket, parseAddress } from "../http/client-address";
import { ApiError } from "../http/errors";
import { attemptBucket } from "../guards/throttle";
import { tenantUsage } from "../store/usage-repo";
import { getTenant } from "../store/tenant-repo";
import { bucketStart, DAY_MS, denseSeries, HOUR_MS, KEY_RETENTION_MS, usagePoint, type CodeCounts, type Granularity, type UsageRange } from "../usage/buckets";
import type { AdminEnv } from "./context";
import { SELF_SERVICE_NOTE, visibleKey } from "./keys";
import { listOf, ListEnvelope, pageParams, pageRequest } from "./pagination";
import { ownEnvironment, ownTenant, permit } from "./permissions";
import { guardedErrors, json } from "./responses";
import { FailedAttempts, IdParam, KeyEvent, KeyId, KeyUsage, TenantId, TenantUsage } from "./schemas";
import { iso } from "./time";
import { validationHook } from "./validation";
import { failedAttemptView, keyEventView, seriesView } from "./views";

export const usageRoutes = new OpenAPIHono<AdminEnv>({ defaultHook: validationHook });

/** Hourly counts are kept this long, so no range reaches further. */
const MAX_RANGE_MS = KEY_RETENTION_MS;
export const MAX_RANGE_DAYS = MAX_RANGE_MS / DAY_MS;
/** The busiest keys a tenant's usage lists. */
const TENANT_TOP_KEYS = 100;

const Time = z.iso.datetime({ offset: true }).transform((value) => Date.parse(value));

const RangeQuery = z.strictObject({
  from: Time.optional().openapi({ type: "string", description: `Default: 24 hours (granularity hour) or ${MAX_RANGE_DAYS} days (day) before \`to\`.` }),
  to: Time.optional().openapi({ type: "string", description: "Default: now." }),
  granularity: z.enum(["hour", "day"]).default("hour").openapi({ description: "UTC hours or UTC days." }),
});

export const RANGE_NOTE = `A range reaches back at most ${MAX_RANGE_DAYS} days (what is kept); \`from\` after \`to\` or a longer range is 400 invalid_request.`;

/** The buckets a query asks for, whole buckets from the one holding `from` to the one holding `to`. */
export function usageRange(query: { from?: number; to?: number; granularity: Granularity }, now: number): UsageRange {
  const { granularity } = query;
  const to = query.to ?? now;
  const from = query.from ?? to - (granularity === "hour" ? DAY_MS : MAX_RANGE_MS);
  const invalid = (field: string, message: string) => new ApiError("invalid_request", "The request is not valid.", { fields: [{ field, message }] });
  if (from > to) throw invalid("from", "must not be after to");
  if (to - from > MAX_RANGE_MS) throw invalid("from", `must be at most ${MAX_RANGE_DAYS} days before to (${MAX_RANGE_MS / (granularity === "hour" ? HOUR_MS : DAY_MS)} ${granularity}s)`);
  return { from: bucketStart(from, granularity), to: bucketStart(to, granularity) + (granularity === "hour" ? HOUR_MS : DAY_MS), granularity };
}

usageRoutes.openapi(
  createRoute({
    method: "get",
    path: "/keys/{id}/usage",
    summary: "A key's usage",
    description:
      "Counted by the key's Durable Object as requests are decided (no D1 write per request), exact as of this call: all-time counters, the last use, " +
      `and a series of admissions, rate-limit refusals and other refusals by code. ${RANGE_NOTE} ${SELF_SERVICE_NOTE}`,
    middleware: [permit("read", { selfService: true })],
    request: { params: IdParam(KeyId), query: RangeQuery },
    responses: { 200: json(KeyUsage, "The key's usage"), ...guardedErrors(400, 404) },
  }),
  async (c) => {
    const { services, principal } = c.var;
    const range = usageRange(c.req.valid("query"), services.clock.now());
    const key = await visibleKey(services, principal, c.req.valid("param").id);
    const { series, totals, usage } = await services.guards.key(key.id).usageSeries(range);
    return c.json(
      {
        object: "key_usage" as const,
        key_id: key.id,
        requests: usage.requests,
        rate_limited: usage.rateLimited,
        last_used_at: iso(usage.lastUsedAt),
        last_used_ip: usage.lastUsedIp,
        last_used_country: usage.lastUsedCountry,
        ...seriesView(range, series, totals),
      },
      200,
    );
  },
);

usageRoutes.openapi(
  createRoute({
    method: "get",
    path: "/keys/{id}/events",
    summary: "A key's verification events",
    description:
      "The key's last 200 decisions, newest first: proxied requests, self-service calls and verifications, admitted or refused. " +
      `Never the key, an Authorization value or a query string. ${SELF_SERVICE_NOTE}`,
    middleware: [permit("read", { selfService: true })],
    request: { params: IdParam(KeyId), query: z.strictObject(pageParams("key_events")) },
    responses: { 200: json(ListEnvelope(KeyEvent), "A page of events"), ...guardedErrors(400, 404) },
  }),
  async (c) => {
    const { services, principal } = c.var;
    const query = c.req.valid("query");
    const key = await visibleKey(services, principal, c.req.valid("param").id);
    const before = query.cursor ? Number(query.cursor.id) : null;
    if (before !== null && !Number.isSafeInteger(before)) {
      throw new ApiError("invalid_request", "The request is not valid.", { fields: [{ field: "cursor", message: "is not a cursor from this list" }] });
    }
    const page = await services.guards.key(key.id).events(pageRequest(query).limit, before);
    const rows = page.rows.map((row) => ({ ...row, id: String(row.seq), created_at: row.at }));
    return c.json(listOf("key_events", { rows, hasMore: page.hasMore }, keyEventView), 200);
  },
);

usageRoutes.openapi(
  createRoute({
    method: "get",
    path: "/tenants/{id}/usage",
    summary: "A tenant's usage",
    description:
      "The tenant's series over all its keys, and each key's totals, busiest first. Each key's object forwards its counts to D1 5 seconds after a change, " +
      `but at most once a minute: a key used after a quiet minute shows within about 5 seconds, a busy key trails by up to a minute. ${RANGE_NOTE} ` +
      "Also open to the tenant's own key with scope `keys:manage` (its own environment's keys only).",
    middleware: [permit("read", { selfService: true })],
    request: { params: IdParam(TenantId), query: RangeQuery },
    responses: { 200: json(TenantUsage, "The tenant's usage"), ...guardedErrors(400, 404) },
  }),
  async (c) => {
    const { services, principal } = c.var;
    const id = c.req.valid("param").id;
    const range = usageRange(c.req.valid("query"), services.clock.now());
    const own = ownTenant(principal);
    if ((own !== null && own !== id) || !(await getTenant(services.db, id))) throw new ApiError("not_found", "No such tenant.");
    const rows = await tenantUsage(services.db, id, {
      from: range.from,
      to: range.to,
      bucketMs: range.granularity === "hour" ? HOUR_MS : DAY_MS,
      environment: ownEnvironment(principal),
    });
    const { series, totals } = denseSeries(range, rows.buckets as Map<number, CodeCounts>);
    const keys = [...rows.keys]
      .map(([keyId, counts]) => {
        const point = usagePoint(counts);
        return { key_id: String(keyId), ...point, total: point.admitted + point.rate_limited + Object.values(point.refused).reduce((a, b) => a + b, 0) };
      })
      .sort((a, b) => b.total - a.total || a.key_id.localeCompare(b.key_id))
      .slice(0, TENANT_TOP_KEYS)
      .map(({ total: _, ...key }) => key);
    return c.json({ object: "tenant_usage" as const, tenant_id: id, ...seriesView(range, series, totals), keys }, 200);
  },
);

usageRoutes.openapi(
  createRoute({
    method: "get",
    path: "/failed-attempts",
    summary: "Failed key authentications from a client address",
    description:
      "What the client's failure counter recorded: unknown keys (which reach no key's records), and revoked and expired keys, " +
      "with hourly counts for 7 days and the last 100 failures (the key's display form, never the key). " +
      "Malformed keys are refused without any I/O and are not recorded. Nothing is recorded with LOG_CLIENT_IPS=false.",
    middleware: [permit("read")],
    request: {
      query: z.strictObject({
        ip: z
          .string()
          .max(64)
          .refine((value) => parseAddress(value) !== null, "must be an IPv4 or IPv6 address")
          .openapi({ example: "203.0.113.7" }),
        limit: pageParams("key_events").limit,
      }),
    },
    responses: { 200: json(FailedAttempts, "The address's recorded failures"), ...guardedErrors(400) },
  }),
  async (c) => {
    const query = c.req.valid("query");
    const ip = addressBucket(parseAddress(query.ip));
    const { hours, events } = await c.var.services.guards.attempts(attemptBucket(ip)).failures(query.limit);
    return c.json(
      { object: "failed_attempts" as const, ip, hours: hours.map(({ hour, counts }) => ({ start: iso(hour), counts })), data: events.map(failedAttemptView) },
      200,
    );
  },
);
