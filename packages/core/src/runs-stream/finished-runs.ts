import { and, asc, eq, inArray, isNotNull, sql } from "drizzle-orm";
import { resultRows, runs, type Db } from "@switchyard/db";
import { InvalidCursorError } from "../errors.ts";
import type { Run } from "../scripts/runs.ts";

/**
 * A place in an app's stream of finished runs: after the run recorded by
 * transaction `xid` with id `id` (ordered by `(finish_xid, id)`). `id: ""`
 * means before every run of that transaction.
 */
export interface RunCursor {
  xid: number;
  id: string;
}

/**
 * The settled horizon: every transaction of this database whose id is below
 * it has ended, so the finished runs below it are all visible and no more
 * can appear there. It is the oldest transaction id still open in this
 * database (pg_stat_activity), or the next id to be assigned when none is.
 * Transactions of other databases on the same server are left out on
 * purpose: PostgreSQL's own snapshot xmin counts them too, and a slow
 * CREATE DATABASE next door would hold every tail here back.
 *
 * The runs below the horizon must be read by a later statement than this
 * one: a transaction open when this snapshot was taken may have ended by the
 * time pg_stat_activity is read, and its rows are visible only to a later
 * snapshot.
 */
export async function readHorizon(db: Db): Promise<number> {
  const [row] = resultRows<{ horizon: string | number }>(
    await db.execute(sql`
      select coalesce(
        (select min(x::text::bigint) from pg_snapshot_xip(pg_current_snapshot()) as x
          where x::text::bigint % 4294967296 in (
            select backend_xid::text::bigint from pg_stat_activity
            where datname = current_database() and backend_xid is not null)),
        pg_snapshot_xmax(pg_current_snapshot())::text::bigint) as horizon`),
  );
  if (!row) throw new Error("the horizon query returned nothing");
  return Number(row.horizon);
}

/** Which of `appIds` have runs recorded by transactions in `[from, below)`. */
export async function appsWithFinishedRuns(db: Db, appIds: readonly string[], from: number, below: number): Promise<Set<string>> {
  if (appIds.length === 0 || below <= from) return new Set();
  const rows = await db
    .selectDistinct({ appId: runs.appId })
    .from(runs)
    .where(and(inArray(runs.appId, [...appIds]), sql`${runs.finishXid} >= ${from}`, sql`${runs.finishXid} < ${below}`));
  return new Set(rows.map((r) => r.appId));
}

/** An app's finished runs after `cursor` and below the horizon `below`, oldest first, at most `limit`. */
export async function finishedRunsAfter(db: Db, appId: string, cursor: RunCursor, below: number, limit: number): Promise<Run[]> {
  return db
    .select()
    .from(runs)
    .where(
      and(
        eq(runs.appId, appId),
        isNotNull(runs.finishXid),
        sql`(${runs.finishXid}, ${runs.id}) > (${cursor.xid}, ${cursor.id})`,
        sql`${runs.finishXid} < ${below}`,
      ),
    )
    .orderBy(asc(runs.finishXid), asc(runs.id))
    .limit(limit);
}

/**
 * The cursor just after run `runId` of app `appId` (a `Last-Event-ID`). Looked
 * up in this app only: another app's run is as unknown as a made-up id, and
 * an unknown one is refused rather than silently replaying from nowhere.
 * A run from before finish_xid existed sorts before every streamed run.
 */
export async function cursorAfterRun(db: Db, appId: string, runId: string): Promise<RunCursor> {
  const [row] = await db
    .select({ xid: runs.finishXid, status: runs.status })
    .from(runs)
    .where(and(eq(runs.appId, appId), eq(runs.id, runId)));
  if (!row || row.status === "running") throw new InvalidCursorError("Last-Event-ID");
  return { xid: row.xid ?? 0, id: row.xid === null ? "" : runId };
}
