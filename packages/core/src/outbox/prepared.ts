import type { SQL } from "drizzle-orm";
import { PgDialect } from "drizzle-orm/pg-core";
import type { Db } from "@switchyard/db";

const dialect = new PgDialect();

/**
 * Runs a raw statement as a prepared statement where the driver has them
 * (postgres.js names and caches it per connection by its text): the outbox's
 * hot statements are planned once per connection, not on every call, which
 * measured as much as a third of a claim's time on a loaded machine.
 * `db.execute()` never prepares; this goes through the same session.
 */
export async function executePrepared(db: Db, name: string, query: SQL): Promise<unknown> {
  return db._.session.prepareQuery(dialect.sqlToQuery(query), undefined, name, false).execute();
}
