export { connect, notifyIn } from "./connect.ts";
export { EMBEDDED_SETTINGS } from "./embedded.ts";
export type { ConnectOptions } from "./connect.ts";
export { migrate, pendingMigrations, loadMigrations, defaultMigrationsFolder } from "./migrate.ts";
export type { Migration, MigrationReport } from "./migrate.ts";
export { resultRows } from "./rows.ts";
export * as schema from "./schema/index.ts";
export * from "./schema/index.ts";
export type { Database, Db, Driver, Schema } from "./types.ts";
