import { join } from "node:path";
import { mkdir } from "node:fs/promises";
import type { Database, Logger } from "@switchyard/core";
import { connect, migrate } from "@switchyard/db";
import type { Config } from "./config.ts";
import { StartupError } from "./startup-error.ts";

/** PGlite's data lives in a subfolder so the dev key can sit beside it. */
export const pgliteDir = (config: Config) => join(config.dataDir, "pgdata");

/** Opens the configured database (PostgreSQL by URL, else PGlite in the data folder). */
export async function openDatabase(config: Config, logger: Logger, role = "switchyard"): Promise<Database> {
  try {
    if (config.databaseUrl) {
      const database = await connect({ url: config.databaseUrl, poolSize: config.dbPool, applicationName: `switchyard-${role}` });
      await database.ping();
      return database;
    }
    await mkdir(pgliteDir(config), { recursive: true, mode: 0o700 });
    logger.info({ dataDir: pgliteDir(config) }, "using embedded PGlite");
    return await connect({ dataDir: pgliteDir(config) });
  } catch (error) {
    throw new StartupError(`cannot open the database: ${(error as Error).message}`);
  }
}

/** Applies pending migrations; safe when several processes do it at once. */
export async function migrateOrExplain(database: Database, logger: Logger): Promise<void> {
  try {
    const report = await migrate(database.db);
    if (report.applied.length > 0) logger.info({ applied: report.applied }, "applied migrations");
  } catch (error) {
    throw new StartupError(`migrations failed: ${(error as Error).message}`, 1);
  }
}
