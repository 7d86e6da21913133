import { migrate } from "@switchyard/db";
import type { Config } from "../config.ts";
import { createLogger } from "../logger.ts";
import { openDatabase } from "../runtime.ts";
import { StartupError } from "../startup-error.ts";

/** `switchyard migrate`: applies pending migrations and says what it did. */
export async function runMigrate(config: Config, print: (line: string) => void): Promise<void> {
  const logger = createLogger({ ...config, logLevel: "warn" });
  const database = await openDatabase(config, logger, "migrate");
  try {
    const report = await migrate(database.db).catch((error: Error) => {
      throw new StartupError(`migrations failed: ${error.message}`, 1);
    });
    if (report.applied.length === 0) print(`up to date (${report.alreadyApplied} migrations applied before)`);
    for (const tag of report.applied) print(`applied ${tag}`);
  } finally {
    await database.close();
  }
}
