import { randomBytes } from "node:crypto";
import postgres from "postgres";

export interface ScratchDatabase {
  name: string;
  url: string;
  /** The server's `server_version`, for the report. */
  serverVersion: string;
  /** Drops the database, ending any connection still open to it. Safe to call twice. */
  drop(): Promise<void>;
}

/**
 * Creates an empty database `<prefix>_<random>` on the server `adminUrl`
 * points at, so a bench never touches data it did not make.
 *
 * @example
 * const scratch = await createScratchDatabase("postgres://postgres@127.0.0.1:5432/postgres", "sy_bench");
 * try { ... connect({ url: scratch.url }) ... } finally { await scratch.drop(); }
 */
export async function createScratchDatabase(adminUrl: string, prefix: string): Promise<ScratchDatabase> {
  const name = `${prefix}_${randomBytes(6).toString("hex")}`;
  const serverVersion = await withAdmin(adminUrl, async (sql) => {
    await sql.unsafe(`create database "${name}"`);
    const [row] = await sql<{ server_version: string }[]>`show server_version`;
    return row?.server_version ?? "unknown";
  });
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    name,
    url: url.toString(),
    serverVersion,
    async drop() {
      if (dropped) return;
      dropped = true;
      // `with (force)` (PostgreSQL 13+) ends connections a failed run left open.
      await withAdmin(adminUrl, (sql) => sql.unsafe(`drop database if exists "${name}" with (force)`));
    },
  };
}

async function withAdmin<T>(adminUrl: string, fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(adminUrl, { max: 1, onnotice: () => {}, connect_timeout: 5 });
  try {
    return await fn(sql);
  } finally {
    await sql.end({ timeout: 2 });
  }
}
