import { and, asc, desc, eq, inArray, type SQL } from "drizzle-orm";
import { deadLetters, type Db } from "@switchyard/db";
import { recordAudit } from "../audit.ts";
import { InvalidCursorError, NotFoundError } from "../errors.ts";
import { afterPivot } from "../paging.ts";
import { requireScope, type Principal } from "../principal.ts";
import { getApp, type App } from "../tenancy.ts";
import { enqueue } from "./queue.ts";

export type DeadLetter = typeof deadLetters.$inferSelect;

/** Which dead letters of an app: by script, trigger, or the kind of the failed event. */
export interface DeadLetterFilter {
  scriptId?: string | undefined;
  triggerId?: string | undefined;
  kind?: string | undefined;
}

export interface DeadLetterQuery extends DeadLetterFilter {
  /** Dead letters older than this one (paging backwards, newest first). */
  before?: string | undefined;
  limit?: number | undefined;
}

export interface ReplayReport {
  replayed: number;
  /** The new events' ids, in the order they were enqueued (oldest dead letter first). */
  event_ids: string[];
  /** Whether dead letters matching the filter remain past this call's cap. */
  more: boolean;
}

/** One listing page at most; one replay call at most (it is one transaction). */
export const DEAD_LETTER_PAGE_MAX = 200;
export const DEAD_LETTER_REPLAY_MAX = 1000;

function filterOf(app: App, filter: DeadLetterFilter): SQL[] {
  const where: SQL[] = [eq(deadLetters.appId, app.id)];
  if (filter.scriptId) where.push(eq(deadLetters.scriptId, filter.scriptId));
  if (filter.triggerId) where.push(eq(deadLetters.triggerId, filter.triggerId));
  if (filter.kind) where.push(eq(deadLetters.kind, filter.kind));
  return where;
}

/**
 * An app's dead letters, newest first, with filters and `before` paging.
 *
 * @example
 * const page = await listDeadLetters(db, principal, "billing", { scriptId, limit: 20 });
 * const next = await listDeadLetters(db, principal, "billing", { scriptId, limit: 20, before: page.at(-1)?.id });
 */
export async function listDeadLetters(db: Db, principal: Principal, appRef: string, query: DeadLetterQuery): Promise<DeadLetter[]> {
  requireScope(principal, "runs:read");
  const app = await getApp(db, principal, appRef);
  const where = filterOf(app, query);
  if (query.before !== undefined) {
    const [pivot] = await db
      .select({ id: deadLetters.id })
      .from(deadLetters)
      .where(and(eq(deadLetters.appId, app.id), eq(deadLetters.id, query.before)));
    // Answering the first page again would make a pager loop; say the cursor
    // names nothing here, as every listing does (another app's dead letter
    // and an empty cursor included, so the answer tells nothing of either).
    if (!pivot) throw new InvalidCursorError("before");
    where.push(afterPivot(deadLetters, deadLetters.createdAt, deadLetters.id, pivot.id));
  }
  return db
    .select()
    .from(deadLetters)
    .where(and(...where))
    .orderBy(desc(deadLetters.createdAt), desc(deadLetters.id))
    .limit(Math.min(query.limit ?? 50, DEAD_LETTER_PAGE_MAX));
}

/** One dead letter whole, the failed event included; 404 when the app has no such one. */
export async function getDeadLetter(db: Db, principal: Principal, appRef: string, id: string): Promise<DeadLetter> {
  requireScope(principal, "runs:read");
  const app = await getApp(db, principal, appRef);
  const [row] = await db
    .select()
    .from(deadLetters)
    .where(and(eq(deadLetters.appId, app.id), eq(deadLetters.id, id)));
  if (!row) throw new NotFoundError("dead letter", id);
  return row;
}

/** Enqueues the dead letter's event again, as it was, marked as a replay of the original event. */
async function requeue(tx: Db, principal: Principal, app: App, row: DeadLetter): Promise<string> {
  const eventId = await enqueue(tx, {
    appId: row.appId,
    scriptId: row.scriptId,
    triggerId: row.triggerId,
    kind: row.kind,
    event: row.event,
    retry: row.retry,
    depth: row.depth,
    origin: principal.id,
    replayOf: row.eventId,
  });
  await recordAudit(tx, principal, {
    action: "dead_letter.replay",
    outcome: "ok",
    workspaceId: app.workspaceId,
    appId: app.id,
    details: { dead_letter_id: row.id, event_id: row.eventId, replay_event_id: eventId },
  });
  return eventId;
}

/**
 * Replays one dead letter: a new outbox event with the original event whole
 * (`ctx.run.replay` is true for it), and the dead letter gone, in one
 * transaction. If the replay fails for good too, it dead-letters anew.
 *
 * @example
 * const { event_id } = await replayDeadLetter(db, principal, appId, "dl_...");
 */
export async function replayDeadLetter(db: Db, principal: Principal, appRef: string, id: string): Promise<{ event_id: string }> {
  requireScope(principal, "scripts:write");
  const app = await getApp(db, principal, appRef);
  return db.transaction(async (tx) => {
    // Deleting first claims the row: of two concurrent replays one deletes it
    // and the other finds nothing, so the event is enqueued once.
    const [row] = await tx
      .delete(deadLetters)
      .where(and(eq(deadLetters.appId, app.id), eq(deadLetters.id, id)))
      .returning();
    if (!row) throw new NotFoundError("dead letter", id);
    return { event_id: await requeue(tx, principal, app, row) };
  });
}

/**
 * Replays the app's dead letters matching `filter`, oldest first, at most
 * {@link DEAD_LETTER_REPLAY_MAX} per call, in one transaction; `more` says
 * whether to call again.
 */
export async function replayDeadLetters(db: Db, principal: Principal, appRef: string, filter: DeadLetterFilter): Promise<ReplayReport> {
  requireScope(principal, "scripts:write");
  const app = await getApp(db, principal, appRef);
  const where = filterOf(app, filter);
  return db.transaction(async (tx) => {
    // SKIP LOCKED: rows a concurrent replay holds are its to replay, not ours.
    const chosen = tx
      .select({ id: deadLetters.id })
      .from(deadLetters)
      .where(and(...where))
      .orderBy(asc(deadLetters.createdAt), asc(deadLetters.id))
      .limit(DEAD_LETTER_REPLAY_MAX)
      .for("update", { skipLocked: true });
    const rows = await tx.delete(deadLetters).where(inArray(deadLetters.id, chosen)).returning();
    rows.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const eventIds: string[] = [];
    for (const row of rows) eventIds.push(await requeue(tx, principal, app, row));
    const [left] = await tx
      .select({ id: deadLetters.id })
      .from(deadLetters)
      .where(and(...where))
      .limit(1);
    return { replayed: rows.length, event_ids: eventIds, more: left !== undefined };
  });
}

/** Drops a dead letter for good (audited). */
export async function deleteDeadLetter(db: Db, principal: Principal, appRef: string, id: string): Promise<void> {
  requireScope(principal, "scripts:write");
  const app = await getApp(db, principal, appRef);
  await db.transaction(async (tx) => {
    const [row] = await tx
      .delete(deadLetters)
      .where(and(eq(deadLetters.appId, app.id), eq(deadLetters.id, id)))
      .returning({ id: deadLetters.id, eventId: deadLetters.eventId });
    if (!row) throw new NotFoundError("dead letter", id);
    await recordAudit(tx, principal, {
      action: "dead_letter.delete",
      outcome: "ok",
      workspaceId: app.workspaceId,
      appId: app.id,
      details: { dead_letter_id: row.id, event_id: row.eventId },
    });
  });
}
