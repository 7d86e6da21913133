import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { PGlite } from "@electric-sql/pglite";
import { afterAll, beforeAll, describe, inject, it } from "vitest";
import { connect, type Database, type Driver } from "@switchyard/db";
import { adminUrl, mustRunPostgres, urlFor, withAdmin } from "./postgres-admin.ts";

/** A fresh, migrated PGlite in memory, cloned from the run's template. */
export async function openPglite(): Promise<Database> {
  const tar = await readFile(inject("pgliteTemplate"));
  const pg = await PGlite.create({ loadDataDir: new Blob([tar]) });
  return connect({ pglite: pg });
}

export interface PostgresDatabase {
  name: string;
  url: string;
  database: Database;
  drop(): Promise<void>;
}

/** A fresh, migrated PostgreSQL database of its own, copied from the run's template. */
export async function createPostgresDatabase(options: { migrated?: boolean } = {}): Promise<PostgresDatabase> {
  const template = inject("postgresTemplate");
  if (!template) throw new Error(postgresUnavailableMessage());
  const name = `sy_test_${randomBytes(6).toString("hex")}`;
  const from = options.migrated === false ? "" : ` template "${template}"`;
  await withAdmin((sql) => sql.unsafe(`create database "${name}"${from}`));
  const url = urlFor(name);
  const database = await connect({ url, poolSize: 4 });
  return {
    name,
    url,
    database,
    async drop() {
      await database.close();
      await withAdmin((sql) => sql.unsafe(`drop database if exists "${name}" with (force)`));
    },
  };
}

function postgresUnavailableMessage(): string {
  return `PostgreSQL is unreachable at ${adminUrl} (${inject("postgresProblem")}); set TEST_DATABASE_URL or start it`;
}

/**
 * Whether PostgreSQL tests run here. In CI (CI=true) they always run, so an
 * unreachable server fails them; on a developer's machine they skip, loudly.
 */
export function postgresAvailable(): boolean {
  if (inject("postgresTemplate")) return true;
  if (mustRunPostgres) return true;
  console.warn(`\n!!! SKIPPING PostgreSQL tests: ${postgresUnavailableMessage()} !!!\n`);
  return false;
}

export interface DriverContext {
  driver: Driver;
  /** The database for this file and driver; valid inside tests. */
  readonly database: Database;
  /** A PostgreSQL URL for this file's database (postgres driver only). */
  readonly url: string | null;
}

/**
 * Declares one suite that runs on every driver: the same tests must pass on
 * PGlite and on PostgreSQL (drizzle's pg-common, db0's testConnector).
 */
export function describeEachDriver(name: string, suite: (ctx: DriverContext) => void): void {
  for (const driver of ["pglite", "postgres"] as const) {
    const runs = driver === "pglite" || postgresAvailable();
    (runs ? describe : describe.skip)(`${name} [${driver}]`, () => {
      let database: Database | undefined;
      let postgresDb: PostgresDatabase | undefined;
      const ctx: DriverContext = {
        driver,
        get database() {
          if (!database) throw new Error(`${driver} database is not open`);
          return database;
        },
        get url() {
          return postgresDb?.url ?? null;
        },
      };
      beforeAll(async () => {
        if (driver === "pglite") database = await openPglite();
        else {
          postgresDb = await createPostgresDatabase();
          database = postgresDb.database;
        }
      });
      afterAll(async () => {
        if (postgresDb) await postgresDb.drop();
        else await database?.close();
      });
      suite(ctx);
    });
  }
}

/** A test that needs PostgreSQL: runs, and fails in CI when the server is unreachable. */
export const itPostgres = (name: string, fn: () => Promise<void>, timeout?: number) =>
  (postgresAvailable() ? it : it.skip)(name, fn, timeout);
