import { sql, type SQL } from "drizzle-orm";
import { resultRows, type Db } from "@switchyard/db";
import { CLAIMABLE } from "./queue.ts";

/**
 * The shared queue's figures for /metrics, read at scrape time so every
 * process reports the same outbox: one aggregate each.
 */

/** Events waiting in the outbox, due or scheduled for a retry (running ones included). */
export function outboxDepth(db: Db): Promise<number> {
  return figure(db, sql`select count(*) as v from outbox`);
}

/** Seconds the oldest due event that is not running has waited; 0 when none is. */
export function oldestDueSeconds(db: Db): Promise<number> {
  return figure(db, sql`select coalesce(extract(epoch from now() - min(run_at)), 0) as v from outbox where ${CLAIMABLE}`);
}

async function figure(db: Db, query: SQL): Promise<number> {
  const rows = resultRows<{ v: number | string }>(await db.execute(query));
  return Number(rows[0]?.v ?? 0);
}
