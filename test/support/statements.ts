import type { Database } from "@switchyard/db";

/**
 * Counts the SQL statements drizzle sends through `database` (its own
 * transactions included) until `stop()`, by installing a query logger on the
 * session: the real database still runs every statement. Tests use it to show
 * that work is batched, which is what makes it fast on any machine.
 */
export function countStatements(database: Database, include: (query: string) => boolean = () => true) {
  const queries: string[] = [];
  // drizzle keeps its session on the database object; transactions copy the session's options.
  const session = (database.db as unknown as { session: { logger: unknown; options: { logger?: unknown } } }).session;
  const before = { logger: session.logger, optionsLogger: session.options.logger };
  const logger = { logQuery: (query: string) => void (include(query) && queries.push(query)) };
  session.logger = logger;
  session.options.logger = logger;
  return {
    queries,
    stop() {
      session.logger = before.logger;
      session.options.logger = before.optionsLogger;
      return queries.length;
    },
  };
}
