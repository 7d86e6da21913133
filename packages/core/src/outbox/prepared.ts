import { DrizzleQueryError, sql, type SQL } from "drizzle-orm";
import { PgDialect } from "drizzle-orm/pg-core";
import { resultRows, type Db } from "@switchyard/db";

const dialect = new PgDialect();

/** What executePrepared uses of a postgres.js client: its own prepared statement API. */
interface PostgresJsClient {
  unsafe(text: string, params?: unknown[], options?: { prepare: boolean }): Promise<unknown>;
  /** One connection of the pool for the caller alone, until `release()`. */
  reserve(): Promise<PostgresJsClient & { release(): void }>;
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
 * before it committed. The statement runs without JIT compilation and with
 * its generic plan (planned once per connection; see `literal()` in
 * queue.ts for what keeps that plan good).
 *
 * On PostgreSQL the whole transaction (begin, lock, statement, commit) is
 * sent at once, pipelined on one reserved connection: one round trip, as the
 * statement alone would cost. A failure anywhere makes the commit a
 * rollback. Inside a caller's transaction, the lock is taken in it and held
 * until it ends; the settings above apply to the statement alone, the
 * caller's transaction then goes on with its own.
 */
export async function executeSerialized(db: Db, lock: bigint, query: SQL): Promise<unknown> {
  const client = postgresJsClient(db);
  // JIT off for the transaction: a statement of many CTEs is estimated
  // costly enough for PostgreSQL to compile it with LLVM, which took
  // seconds for a claim that runs in a millisecond (measured with perf).
  // The generic plan: a custom plan cost 2-9 ms of planning each time.
  // A holder that stalls inside the transaction (its process stopped, frozen
  // or cut off between lock and commit) would stop every claim in the fleet:
  // idle_in_transaction_session_timeout makes PostgreSQL end its session
  // after 2 s, which releases the lock, and lock_timeout makes the others'
  // statements fail after 2 s meanwhile (they are retried) rather than queue.
  const takeLock = serializedLock(lock);
  if (!client) {
    if (isTransaction(db)) {
      // The settings are the claim's, not the caller's: its transaction
      // goes on with its own once the statement is done (set_config with
      // is_local would otherwise keep them until that transaction ends).
      const [saved] = resultRows<Record<(typeof SERIALIZED_SETTINGS)[number], string>>(await db.execute(currentSettings));
      await db.execute(takeLock);
      const result = await db.execute(query);
      if (saved) await db.execute(restoreSettings(saved));
      return result;
    }
    return db.transaction(async (tx) => {
      await tx.execute(takeLock);
      return tx.execute(query);
    });
  }
  const { sql: text, params } = dialect.sqlToQuery(query);
  const locking = dialect.sqlToQuery(takeLock);
  const connection = await client.reserve();
  try {
    // Sent back to back without waiting; the server runs them in order, the statement only once the lock is held.
    const steps = await Promise.allSettled([
      connection.unsafe("begin"),
      connection.unsafe(locking.sql, locking.params, { prepare: true }),
      connection.unsafe(text, params, { prepare: true }),
      connection.unsafe("commit"),
    ]);
    const failed = steps.find((step): step is PromiseRejectedResult => step.status === "rejected");
    if (failed) {
      // Normally the commit already ended the transaction; this covers a commit that failed itself.
      await connection.unsafe("rollback").catch(() => {});
      throw failed.reason;
    }
    return (steps[2] as PromiseFulfilledResult<unknown>).value;
  } catch (error) {
    throw new DrizzleQueryError(text, params, error as Error);
  } finally {
    connection.release();
  }
}

/** What serializedLock sets for the transaction. */
const SERIALIZED_SETTINGS = ["idle_in_transaction_session_timeout", "lock_timeout", "jit", "plan_cache_mode"] as const;

const currentSettings = sql.raw(`select ${SERIALIZED_SETTINGS.map((name) => `current_setting('${name}') as ${name}`).join(", ")}`);

/** Sets the settings back to `saved` (for the rest of the transaction, where they were read). */
function restoreSettings(saved: Record<(typeof SERIALIZED_SETTINGS)[number], string>): SQL {
  return sql`select ${sql.join(
    SERIALIZED_SETTINGS.map((name) => sql`set_config(${name}, ${saved[name]}, true)`),
    sql`, `,
  )}`;
}

/** The statement executeSerialized sends after `begin`: the lock, and the settings of the transaction (see there). */
export function serializedLock(lock: bigint): SQL {
  return sql`select set_config('idle_in_transaction_session_timeout', '2000', true), set_config('lock_timeout', '2s', true), pg_advisory_xact_lock(${lock.toString()}::bigint), set_config('jit', 'off', true), set_config('plan_cache_mode', 'force_generic_plan', true)`;
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
