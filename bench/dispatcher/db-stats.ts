import postgres from "postgres";

/**
 * A backend flushes its transaction counts to the shared statistics when it
 * goes idle, at most once per second (PGSTAT_MIN_INTERVAL, PostgreSQL 15+),
 * so a reading waits a little longer than that first.
 */
const FLUSH_WAIT_MS = 1_100;

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * `xact_commit` of database `name` from `pg_stat_database`, read on a fresh
 * connection to the admin database (so the reading's own commit lands
 * elsewhere and no cached statistics snapshot is reused).
 */
export async function committedTransactions(adminUrl: string, name: string): Promise<number> {
  await sleep(FLUSH_WAIT_MS);
  const sql = postgres(adminUrl, { max: 1, onnotice: () => {}, connect_timeout: 5 });
  try {
    const [row] = await sql<{ n: string }[]>`select xact_commit::text as n from pg_stat_database where datname = ${name}`;
    if (!row) throw new Error(`bench: database ${name} has no pg_stat_database row`);
    return Number(row.n);
  } finally {
    await sql.end({ timeout: 2 });
  }
}

/**
 * VACUUM (ANALYZE) of the whole scratch database, before each drain and
 * untimed, as pgbench does before a run: every drain of either system then
 * starts from tables without the dead rows earlier drains left (ours: outbox
 * and runs; graphile-worker: its jobs), instead of meeting them or an
 * autovacuum pass at a random point of the drain.
 */
export async function vacuumScratch(url: string): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 5 });
  try {
    await sql.unsafe("vacuum (analyze)");
  } finally {
    await sql.end({ timeout: 2 });
  }
}
