import type { PGlite } from "@electric-sql/pglite";
import { sql } from "drizzle-orm";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import { openEmbedded } from "./embedded.ts";
import * as schema from "./schema/index.ts";
import type { Database, Db } from "./types.ts";

export interface ConnectOptions {
  /** A PostgreSQL URL. Without one, the embedded PGlite is used. */
  url?: string | undefined;
  /** PGlite's data folder; omitted means in memory. Ignored with `url`. */
  dataDir?: string | undefined;
  /** An already opened PGlite (tests clone a migrated template into one). */
  pglite?: PGlite | undefined;
  /** Connections per process for PostgreSQL. */
  poolSize?: number | undefined;
  /** Name shown in pg_stat_activity. */
  applicationName?: string | undefined;
}

/**
 * Opens the database: postgres.js when a URL is given, PGlite otherwise.
 *
 * @example
 * const database = await connect({ url: process.env.DATABASE_URL, dataDir: ".switchyard/pgdata" });
 */
export async function connect(options: ConnectOptions = {}): Promise<Database> {
  if (options.url) return connectPostgres(options.url, options);
  if (options.pglite) return connectPglite(options.pglite);
  return connectPglite(await openEmbedded(options.dataDir));
}

function connectPglite(pg: PGlite): Database {
  const db = drizzlePglite(pg, { schema }) as unknown as Db;
  return {
    driver: "pglite",
    db,
    async listen(channel, onPayload) {
      const unsubscribe = await pg.listen(channel, onPayload);
      return async () => unsubscribe();
    },
    async notify(channel, payload) {
      await pg.query("select pg_notify($1, $2)", [channel, payload]);
    },
    async ping() {
      await pg.query("select 1");
    },
    async close() {
      if (!pg.closed) await pg.close();
    },
  };
}

function connectPostgres(url: string, options: ConnectOptions): Database {
  const client = postgres(url, {
    max: options.poolSize ?? 10,
    onnotice: () => {},
    // JIT off: our statements are short OLTP ones, and PostgreSQL compiled
    // the fair claim (many CTEs, so a high estimated cost) with LLVM on every
    // run, seconds for a statement that runs in milliseconds.
    connection: { application_name: options.applicationName ?? "switchyard", jit: "off" },
  });
  const db = drizzlePostgres(client, { schema }) as unknown as Db;
  return {
    driver: "postgres",
    db,
    async listen(channel, onPayload) {
      // postgres.js keeps one dedicated connection for all LISTENs and
      // re-subscribes after a reconnect.
      const subscription = await client.listen(channel, onPayload);
      return () => subscription.unlisten();
    },
    async notify(channel, payload) {
      await client.notify(channel, payload);
    },
    async ping() {
      await client`select 1`;
    },
    async close() {
      await client.end({ timeout: 5 });
    },
  };
}

/** NOTIFY inside a transaction: PostgreSQL delivers it only if the transaction commits. */
export async function notifyIn(tx: Db, channel: string, payload: string): Promise<void> {
  await tx.execute(sql`select pg_notify(${channel}, ${payload})`);
}
