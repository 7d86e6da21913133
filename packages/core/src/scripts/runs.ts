import { and, desc, eq, type SQL } from "drizzle-orm";
import { RUN_FINISHED_XID, runs, type Db } from "@switchyard/db";
import { InvalidCursorError, NotFoundError } from "../errors.ts";
import { newId } from "../ids.ts";
import { afterPivot } from "../paging.ts";
import { requireScope, type Principal } from "../principal.ts";
import { getApp } from "../tenancy.ts";

export type Run = typeof runs.$inferSelect;
export type RunStatus = Run["status"];

export interface RunStart {
  appId: string;
  scriptId: string;
  scriptVersion: number;
  triggerId: string | null;
  eventId: string;
  eventKind: string;
  attempt: number;
}

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

/** Inserts a run row in state `running`; its id is the run id scripts see in `ctx.run.id`. */
export async function startRun(db: Db, start: RunStart, id = newId("run")): Promise<Run> {
  // Not finished yet: the live tail must not see it until finishRun.
  const [row] = await db.insert(runs).values({ id, ...start, status: "running", finishXid: null }).returning();
  if (!row) throw new Error("run insert returned nothing");
  return row;
}

/** Writes a run's outcome (already redacted by the executor); the live tail sees it once this commits. */
export async function finishRun(db: Db, runId: string, finish: RunFinish): Promise<void> {
  await db
    .update(runs)
    .set({ ...finish, result: finish.result ?? null, error: finish.error ?? null, subrequests: finish.subrequests ?? [], finishedAt: new Date(), finishXid: RUN_FINISHED_XID })
    .where(eq(runs.id, runId));
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
