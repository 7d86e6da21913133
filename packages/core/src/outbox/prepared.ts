import { DrizzleQueryError, sql, type SQL } from "drizzle-orm";
import { PgDialect } from "drizzle-orm/pg-core";
import type { Db } from "@switchyard/db";

const dialect = new PgDialect();

/** What executePrepared uses of a postgres.js client: its own prepared statement API. */
interface PostgresJsClient {
  unsafe(text: string, params: unknown[], options: { prepare: boolean }): Promise<unknown>;
  begin<T>(run: (tx: PostgresJsClient) => Promise<T>): Promise<T>;
}

/**
 * Runs a raw statement as a prepared statement where the driver has them:
 * the outbox's hot statements are planned once per connection, not on every
 * call, which measured as much as a third of a claim's time on a loaded
 * machine. `db.execute()` never prepares (drizzle sends it with postgres.js's
 * `prepare: false`), so on PostgreSQL this asks postgres.js itself, through
 * the client drizzle's public `$client` holds: `unsafe(text, params,
 * { prepare: true })`, which names the statement and keeps it per connection
 * by its text. `name` labels the statement for readers; postgres.js names
 * it itself. The answer, and a failure (a DrizzleQueryError with the
 * driver's error as its cause), are as `db.execute()` gives them.
 *
 * Elsewhere it is `db.execute()`: PGlite plans every statement anyway (one
 * in-process connection, no named statements to keep), and a transaction
 * exposes no client of its own, so its statements stay on its connection,
 * unprepared, rather than leave it for the pool's.
 */
export async function executePrepared(db: Db, name: string, query: SQL): Promise<unknown> {
  const client = postgresJsClient(db);
  if (!client) return db.execute(query);
  const { sql: text, params } = dialect.sqlToQuery(query);
  try {
    return await client.unsafe(text, params, { prepare: true });
  } catch (error) {
    throw new DrizzleQueryError(text, params, error as Error);
  }
}

/**
 * Runs `query` in a transaction of its own after taking the
 * transaction-scoped advisory lock `lock`: statements run this way never
 * overlap across the fleet, and each one's snapshot includes what the one
 * before it committed. On PostgreSQL the lock and the statement are sent
 * together (pipelined) as prepared statements; inside a caller's
 * transaction, the lock is taken in it and held until it ends.
 */
export async function executeSerialized(db: Db, lock: bigint, name: string, query: SQL): Promise<unknown> {
  const client = postgresJsClient(db);
  const takeLock = sql`select pg_advisory_xact_lock(${lock.toString()}::bigint)`;
  if (!client) {
    if (isTransaction(db)) {
      await db.execute(takeLock);
      return db.execute(query);
    }
    return db.transaction(async (tx) => {
      await tx.execute(takeLock);
      return tx.execute(query);
    });
  }
  const { sql: text, params } = dialect.sqlToQuery(query);
  const locking = dialect.sqlToQuery(takeLock);
  try {
    return await client.begin(async (tx) => {
      // Sent back to back; the server runs the statement only once the lock is held.
      const [, answer] = await Promise.all([tx.unsafe(locking.sql, locking.params, { prepare: true }), tx.unsafe(text, params, { prepare: true })]);
      return answer;
    });
  } catch (error) {
    throw new DrizzleQueryError(text, params, error as Error);
  }
}

/** Whether `db` is an open transaction (drizzle's transaction handles carry a rollback method). */
function isTransaction(db: Db): boolean {
  return typeof (db as { rollback?: unknown }).rollback === "function";
}

/** The postgres.js client of a database drizzle opened over one; null for PGlite and for a transaction (which has no `$client`). */
function postgresJsClient(db: Db): PostgresJsClient | null {
  // postgres.js's client is a function (the sql tag) with methods; PGlite's is an object.
  const client = (db as { $client?: unknown }).$client;
  if (typeof client !== "function") return null;
  return typeof (client as unknown as Partial<PostgresJsClient>).unsafe === "function" ? (client as unknown as PostgresJsClient) : null;
}
