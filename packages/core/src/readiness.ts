import { pendingMigrations, type Database } from "@switchyard/db";

export type Readiness = { ready: true } | { ready: false; reason: "database_unreachable" | "migrations_pending"; pending?: string[] };

/** Ready means: the database answers and every migration on disk is applied. */
export async function checkReadiness(database: Database): Promise<Readiness> {
  try {
    await database.ping();
  } catch {
    return { ready: false, reason: "database_unreachable" };
  }
  const pending = await pendingMigrations(database.db);
  return pending.length > 0 ? { ready: false, reason: "migrations_pending", pending } : { ready: true };
}
