import { sql, type SQL } from "drizzle-orm";
import type { AnyPgColumn, PgTable } from "drizzle-orm/pg-core";

/**
 * The rows after the pivot row `pivotId` in a list ordered newest first by
 * `(time, id)`: the keyset condition of every `before` cursor.
 *
 * The cursor is a row id, and the pivot's time is read inside the same SQL
 * statement. Reading it into a JS `Date` first would drop the microseconds
 * PostgreSQL keeps (a `Date` holds milliseconds), and rows a few
 * microseconds apart would then be skipped (or, after a rounding, repeated).
 * The id breaks ties between rows of the same instant. The caller checks
 * first that the pivot is a row of the list (else invalid_cursor); a
 * vanished pivot compares against NULL here and ends the list.
 *
 * @example
 * where.push(afterPivot(runs, runs.startedAt, runs.id, query.before));
 * db.select().from(runs).where(and(...where)).orderBy(desc(runs.startedAt), desc(runs.id));
 */
export function afterPivot(table: PgTable, time: AnyPgColumn, id: AnyPgColumn, pivotId: string): SQL {
  const pivotTime = sql`p.${sql.identifier(time.name)}`;
  const pivotKey = sql`p.${sql.identifier(id.name)}`;
  return sql`(${time}, ${id}) < (select ${pivotTime}, ${pivotKey} from ${table} p where ${pivotKey} = ${pivotId})`;
}
