import postgres from "postgres";

/** Where tests reach PostgreSQL; CI and the machine provide one on 127.0.0.1. */
export const adminUrl = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

/** In CI a PostgreSQL test that cannot reach the server fails instead of skipping. */
export const mustRunPostgres = process.env.CI === "true" || process.env.CI === "1";

export function urlFor(database: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

/** Runs `fn` with a one-connection admin client, closed afterwards. */
export async function withAdmin<T>(fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(adminUrl, { max: 1, onnotice: () => {}, connect_timeout: 3 });
  try {
    return await fn(sql);
  } finally {
    await sql.end({ timeout: 2 });
  }
}

export async function postgresReachable(): Promise<string | null> {
  try {
    await withAdmin((sql) => sql`select 1`);
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}
