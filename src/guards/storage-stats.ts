/**
 * The object's SQL storage, counting the rows each statement writes (inserted, updated or
 * deleted: what Cloudflare bills). Write statements run to completion inside `exec`, so the
 * cursor's count is final when it returns; reads count zero.
 */
export function countingWrites(sql: SqlStorage, onWrite: (rows: number) => void): SqlStorage {
  const exec = <T extends Record<string, SqlStorageValue>>(query: string, ...bindings: unknown[]): SqlStorageCursor<T> => {
    const cursor = sql.exec<T>(query, ...bindings);
    if (cursor.rowsWritten > 0) onWrite(cursor.rowsWritten);
    return cursor;
  };
  return new Proxy(sql, {
    get(target, property) {
      if (property === "exec") return exec;
      const value: unknown = Reflect.get(target, property);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
