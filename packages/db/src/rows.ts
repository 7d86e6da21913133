/**
 * `db.execute()` answers differently per driver: PGlite gives `{ rows }`,
 * postgres.js an array of rows. Raw SQL callers read through this.
 */
export function resultRows<T>(result: unknown): T[] {
  if (Array.isArray(result)) return result as T[];
  const rows = (result as { rows?: unknown }).rows;
  if (Array.isArray(rows)) return rows as T[];
  throw new TypeError("unexpected query result shape");
}
