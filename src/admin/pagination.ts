import { z } from "@hono/zod-openapi";
import { fromBase64Url, toBase64Url } from "../keys/base64url";
import type { Page, PagePosition, PageRequest } from "../store/page";

/**
 * Opaque cursors: base64url JSON of the last row's position, tagged with the list it belongs to
 * so a cursor from one list is refused by another rather than silently misread.
 */
type ListKind = "tenants" | "keys" | "admins" | "audit_events" | "key_events" | "oauth_clients" | "oauth_grants";

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

function encodeCursor(kind: ListKind, position: PagePosition): string {
  const json = JSON.stringify({ k: kind, t: position.createdAt, i: position.id });
  return toBase64Url(new TextEncoder().encode(json));
}

function decodeCursor(kind: ListKind, cursor: string): PagePosition | null {
  try {
    const json = new TextDecoder().decode(fromBase64Url(cursor));
    const { k, t, i } = JSON.parse(json) as Record<string, unknown>;
    if (k !== kind || !Number.isSafeInteger(t) || typeof i !== "string" || i.length > 100) return null;
    return { createdAt: t as number, id: i };
  } catch {
    return null;
  }
}

/** The `limit` and `cursor` query parameters of a list, validated like any other input. */
export function pageParams(kind: ListKind) {
  return {
    limit: z.coerce
      .number()
      .int()
      .min(1)
      .max(MAX_PAGE_SIZE)
      .default(DEFAULT_PAGE_SIZE)
      .openapi({ description: `Page size, 1-${MAX_PAGE_SIZE}.`, example: DEFAULT_PAGE_SIZE }),
    cursor: z
      .string()
      .max(400)
      .transform((value, ctx) => {
        const position = decodeCursor(kind, value);
        if (!position) {
          ctx.addIssue({ code: "custom", message: "is not a cursor from this list" });
          return z.NEVER;
        }
        return position;
      })
      .optional()
      .openapi({ type: "string", description: "`next_cursor` of the previous page." }),
  };
}

export function pageRequest(query: { limit: number; cursor?: PagePosition }): PageRequest {
  return { limit: query.limit, after: query.cursor ?? null };
}

/** `{object: "list", data, has_more, next_cursor}`, the one list envelope. */
/** Rows as D1 returns them (created_at) or as a Key (createdAt): either way, paged by time and id. */
type Positioned = { id: string } & ({ created_at: number } | { createdAt: number });

export function listOf<Row extends Positioned, View>(kind: ListKind, page: Page<Row>, view: (row: Row) => View) {
  const last = page.rows.at(-1);
  return {
    object: "list" as const,
    data: page.rows.map(view),
    has_more: page.hasMore,
    next_cursor: page.hasMore && last ? encodeCursor(kind, { createdAt: "createdAt" in last ? last.createdAt : last.created_at, id: last.id }) : null,
  };
}

export const ListEnvelope = <T extends z.ZodType>(item: T) =>
  z.object({
    object: z.literal("list"),
    data: z.array(item),
    has_more: z.boolean(),
    next_cursor: z.string().nullable(),
  });
