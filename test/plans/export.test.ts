import { describe, expect, it } from "vitest";
import { systemClock } from "../../src/clock";
import { periodAt } from "../../src/counting/calendar";
import { admin, originCounts } from "../support/client";
import { asKey, failingFields, json } from "../admin/support";
import { forwardNow } from "../usage/support";
import { outcomes, planKey, tenantWithQuotas } from "./support";

interface ExportDay {
  date: string;
  admitted_requests: number;
  cost_units: number;
  rate_limited: number;
  usage_exceeded: number;
  quota_exceeded: number;
  other_refusals: number;
}

interface ExportBody {
  object: string;
  tenant_id: string;
  tenant_name: string;
  from: string;
  to: string;
  days: ExportDay[];
  totals: Omit<ExportDay, "date">;
}

/** RFC 4180 read back: quoted fields with doubled quotes, CRLF between records. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") row.push(field), (field = "");
    else if (ch === "\r" && text[i + 1] === "\n") row.push(field), rows.push(row), (row = []), (field = ""), i++;
    else field += ch;
  }
  return rows;
}

const day = (at: number) => new Date(at).toISOString().slice(0, 10);

describe("the billing export", () => {
  it("gives per UTC day what the origin received, the cost units, and refusals by kind, as JSON and as CSV", async () => {
    const name = 'Acme, "Widgets" & Co';
    const tenant = await tenantWithQuotas({ test: { limit: 1, period: "month" } }, name);
    const windowed = await planKey({ tenant_id: tenant.id, rate_limits: [{ name: "hourly", limit: 3, window_seconds: 3600 }] });
    const credited = await planKey({ tenant_id: tenant.id, credits: { remaining: 12 } });
    const quoted = await planKey({ tenant_id: tenant.id, environment: "test" });
    const readOnly = await planKey({ tenant_id: tenant.id, environment: "test", scopes: ["read"] });
    const today = day(systemClock.now());

    expect(await outcomes(windowed.key, 5)).toEqual(["ok", "ok", "ok", "rate_limit_exceeded", "rate_limit_exceeded"]);
    // An image costs 10.
    expect(await outcomes(credited.key, 2, "/images/cat", "POST")).toEqual(["ok", "usage_exceeded"]);
    expect(await outcomes(credited.key, 2)).toEqual(["ok", "ok"]);
    // The test keys' quota is 1.
    expect(await outcomes(quoted.key, 3)).toEqual(["ok", "quota_exceeded", "quota_exceeded"]);
    expect(await outcomes(readOnly.key, 1, "/items", "DELETE")).toEqual(["insufficient_permissions"]);

    // The next day, more: the export has a line per day. Past the hourly window too, whatever the
    // hour the test runs at (after 23:00 UTC the next day starts inside it).
    const { end } = periodAt(systemClock.now(), { period: "day" });
    systemClock.advance(Math.max(end - systemClock.now() + 1, 3_600_000));
    const tomorrow = day(systemClock.now());
    // A ping costs nothing; the credited key has none left (and no refill).
    expect(await outcomes(windowed.key, 1, "/ping/1")).toEqual(["ok"]);
    expect(await outcomes(credited.key, 1)).toEqual(["usage_exceeded"]);

    for (const key of [windowed, credited, quoted, readOnly]) await forwardNow(key.id);
    const counts = await originCounts();
    const atOrigin = [windowed, credited, quoted, readOnly].reduce((sum, key) => sum + (counts[key.id] ?? 0), 0);
    expect(atOrigin).toBe(8);

    const body = await json<ExportBody>(await admin("GET", `/tenants/${tenant.id}/usage/export?from=${today}&to=${tomorrow}`), 200);
    expect(body).toMatchObject({ object: "usage_export", tenant_id: tenant.id, tenant_name: name, from: `${today}T00:00:00.000Z` });
    expect(body.days).toEqual([
      { date: today, admitted_requests: 7, cost_units: 3 + 10 + 2 + 1, rate_limited: 2, usage_exceeded: 1, quota_exceeded: 2, other_refusals: 1 },
      { date: tomorrow, admitted_requests: 1, cost_units: 0, rate_limited: 0, usage_exceeded: 1, quota_exceeded: 0, other_refusals: 0 },
    ]);
    expect(body.totals).toEqual({ admitted_requests: atOrigin, cost_units: 16, rate_limited: 2, usage_exceeded: 2, quota_exceeded: 2, other_refusals: 1 });

    const res = await admin("GET", `/tenants/${tenant.id}/usage/export?from=${today}&to=${tomorrow}&format=csv`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(res.headers.get("content-disposition")).toBe(`attachment; filename="keygate-usage-${tenant.id}-${today}-to-${tomorrow}.csv"`);
    const bytes = new Uint8Array(await res.arrayBuffer());
    // A byte order mark for Excel, CRLF line ends, the name quoted with its quotes doubled.
    expect([...bytes.slice(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
    expect(text.startsWith("\uFEFFtenant_id,tenant_name,date,")).toBe(true);
    expect(text).toContain(`${tenant.id},"Acme, ""Widgets"" & Co",${today},7,16,2,1,2,1\r\n`);
    const [header, ...rows] = parseCsv(text.slice(1));
    expect(header).toEqual(["tenant_id", "tenant_name", "date", "admitted_requests", "cost_units", "rate_limited", "usage_exceeded", "quota_exceeded", "other_refusals"]);
    expect(rows).toEqual(body.days.map((d) => [tenant.id, name, d.date, ...Object.values(d).slice(1).map(String)]));
  });

  it("never lets a name become a spreadsheet formula", async () => {
    const tenant = await tenantWithQuotas({}, "=HYPERLINK(\"http://x\")");
    const text = await (await admin("GET", `/tenants/${tenant.id}/usage/export?format=csv`)).text();
    expect(text.split("\r\n")[1]).toContain(`${tenant.id},"'=HYPERLINK(""http://x"")",`);
  });

  it("answers a tenant's own key for its own environment only, and refuses bad ranges and formats", async () => {
    const tenant = await tenantWithQuotas({});
    const manager = await planKey({ tenant_id: tenant.id, environment: "test", scopes: ["keys:manage", "read"] });
    const live = await planKey({ tenant_id: tenant.id });
    expect(await outcomes(live.key, 2)).toEqual(["ok", "ok"]);
    await forwardNow(live.id);
    const own = await json<ExportBody>(await asKey(manager.key, "GET", `/tenants/${tenant.id}/usage/export`), 200);
    expect(own.totals.admitted_requests).toBe(0);
    expect((await json<ExportBody>(await admin("GET", `/tenants/${tenant.id}/usage/export`), 200)).totals.admitted_requests).toBe(2);

    expect(await failingFields(await admin("GET", `/tenants/${tenant.id}/usage/export?format=xml`))).toEqual(["format"]);
    expect(await failingFields(await admin("GET", `/tenants/${tenant.id}/usage/export?from=2026-13-01`))).toEqual(["from"]);
    expect(await failingFields(await admin("GET", `/tenants/${tenant.id}/usage/export?from=2026-02-01&to=2026-01-01`))).toEqual(["from"]);
  });
});
