/**
 * Keyset pagination, newest first. A position is the (created_at, id) of the last row a caller
 * saw, so pages stay stable while rows are inserted and no query ever scans skipped rows (OFFSET).
 */
export interface PagePosition {
  createdAt: number;
  id: string;
}

export interface PageRequest {
  limit: number;
  after: PagePosition | null;
}

export interface Page<T> {
  rows: T[];
  hasMore: boolean;
}

export interface Filter {
  where: string[];
  binds: unknown[];
}

/**
 * Runs `select` with the filter and the page position; `alias` prefixes the paged table's
 * created_at and id columns ("k." for a joined query). Fetches one row more than asked to know
 * whether another page follows.
 */
export async function fetchPage<T extends { created_at: number; id: string }>(
  db: D1Database,
  select: string,
  filter: Filter,
  page: PageRequest,
  alias = "",
): Promise<Page<T>> {
  const where = [...filter.where];
  const binds = [...filter.binds];
  if (page.after) {
    where.push(`(${alias}created_at < ? OR (${alias}created_at = ? AND ${alias}id < ?))`);
    binds.push(page.after.createdAt, page.after.createdAt, page.after.id);
  }
  const sql = `${select}${where.length ? ` WHERE ${where.join(" AND ")}` : ""} ORDER BY ${alias}created_at DESC, ${alias}id DESC LIMIT ?`;
  const { results } = await db
    .prepare(sql)
    .bind(...binds, page.limit + 1)
    .all<T>();
  return { rows: results.slice(0, page.limit), hasMore: results.length > page.limit };
}
