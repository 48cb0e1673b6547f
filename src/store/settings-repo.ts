/**
 * Settings an owner changes through the API (table settings), each a JSON value by name. A name
 * not stored has its default (identity/signin-settings.ts says which).
 */
export async function readSettings(db: D1Database): Promise<Record<string, unknown>> {
  const { results } = await db.prepare("SELECT name, value FROM settings").all<{ name: string; value: string }>();
  return Object.fromEntries(results.map((row) => [row.name, JSON.parse(row.value) as unknown]));
}

export function writeSetting(db: D1Database, name: string, value: unknown, now: number): D1PreparedStatement {
  return db
    .prepare("INSERT INTO settings (name, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at")
    .bind(name, JSON.stringify(value), now);
}
