import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import type * as schema from "./schema/index.ts";

export type Schema = typeof schema;

/**
 * A drizzle handle that is either the database or an open transaction: every
 * query function takes one, so a caller can write a domain row and its outbox
 * row in one transaction.
 */
export type Db = PgDatabase<PgQueryResultHKT, Schema>;

export type Driver = "pglite" | "postgres";

/** What `connect()` returns: one interface over PGlite and postgres.js. */
export interface Database {
  readonly driver: Driver;
  readonly db: Db;
  /** Calls `onPayload` for every NOTIFY on `channel`; resolves to an unsubscribe function. */
  listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>>;
  /** NOTIFY outside any transaction. Inside one, use `notifyIn(tx, ...)` so it is sent on commit. */
  notify(channel: string, payload: string): Promise<void>;
  /** Round trip to the database; throws when it is unreachable. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
