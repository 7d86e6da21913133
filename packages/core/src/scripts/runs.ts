import { and, desc, eq, type SQL } from "drizzle-orm";
import { runs, type Db } from "@switchyard/db";
import { InvalidCursorError, NotFoundError } from "../errors.ts";
import { afterPivot } from "../paging.ts";
import { requireScope, type Principal } from "../principal.ts";
import { getApp } from "../tenancy.ts";

export type Run = typeof runs.$inferSelect;
export type RunStatus = Run["status"];

/**
 * An attempt's outcome as its run row records it (already redacted by the
 * executor). Run rows are written in one place: the outbox's completion
 * (outbox/complete.ts), one row per finished attempt, inserted whole; no run
 * row is written before its attempt ends, so `running` (still in the API's
 * status enum) is never stored.
 */
export interface RunFinish {
  status: Exclude<RunStatus, "running">;
  durationMs: number;
  cpuMs: number;
  logs: unknown[];
  logsTruncated: boolean;
  result: unknown;
  error: unknown;
  /** Every fetch the run made or tried, masked (the executor's `subrequests`); none when absent. */
  subrequests?: unknown[] | undefined;
}

export interface RunQuery {
  status?: RunStatus | undefined;
  scriptId?: string | undefined;
  triggerId?: string | undefined;
  eventId?: string | undefined;
  before?: string | undefined;
  limit?: number | undefined;
}

export async function listRuns(db: Db, principal: Principal, appRef: string, query: RunQuery): Promise<Run[]> {
  requireScope(principal, "runs:read");
  const app = await getApp(db, principal, appRef);
  const where: SQL[] = [eq(runs.appId, app.id)];
  if (query.status) where.push(eq(runs.status, query.status));
  if (query.scriptId) where.push(eq(runs.scriptId, query.scriptId));
  if (query.triggerId) where.push(eq(runs.triggerId, query.triggerId));
  if (query.eventId) where.push(eq(runs.eventId, query.eventId));
  if (query.before !== undefined) {
    // The cursor is looked up in this app only: a run of another app (or
    // workspace) is as unknown as a made-up id, so the answer cannot tell
    // whether it exists. An unknown cursor is refused rather than ignored,
    // which would silently restart the list from the top.
    const [pivot] = await db
      .select({ id: runs.id })
      .from(runs)
      .where(and(eq(runs.appId, app.id), eq(runs.id, query.before)));
    if (!pivot) throw new InvalidCursorError("before");
    // Strictly after the cursor in the list's own order (started_at, id), at
    // the microseconds PostgreSQL keeps, so no run is skipped or repeated.
    where.push(afterPivot(runs, runs.startedAt, runs.id, pivot.id));
  }
  return db
    .select()
    .from(runs)
    .where(and(...where))
    .orderBy(desc(runs.startedAt), desc(runs.id))
    .limit(Math.min(query.limit ?? 50, 200));
}

export async function getRun(db: Db, principal: Principal, appRef: string, runId: string): Promise<Run> {
  requireScope(principal, "runs:read");
  const app = await getApp(db, principal, appRef);
  const [row] = await db.select().from(runs).where(and(eq(runs.appId, app.id), eq(runs.id, runId)));
  if (!row) throw new NotFoundError("run", runId);
  return row;
}
