import { and, eq, inArray, isNull, lt, lte, or, sql } from "drizzle-orm";
import { deadLetters, notifyIn, outbox, runs, type Db, type RetryPolicy } from "@switchyard/db";
import { newId } from "../ids.ts";
import type { RunFinish } from "../scripts/runs.ts";
import { fanOutDeadLetter } from "../triggers/fan-out.ts";
import { DEFAULT_RETRY, retryDelayMs } from "./retry.ts";

/** NOTIFY channel that wakes workers when an event is enqueued. */
export const OUTBOX_CHANNEL = "switchyard_outbox";

export type OutboxRow = typeof outbox.$inferSelect;

export interface EnqueueInput {
  appId: string;
  scriptId: string;
  triggerId?: string | null;
  kind: string;
  /** The whole event as the script receives it (`{ kind, ... }`). */
  event: unknown;
  retry?: RetryPolicy | undefined;
  depth?: number;
  origin: string;
  replayOf?: string | null;
  id?: string;
}

/**
 * Enqueues one event with `tx`: it exists only if `tx` commits, and the NOTIFY
 * that wakes workers is delivered at that commit too.
 */
export async function enqueue(tx: Db, input: EnqueueInput): Promise<string> {
  const id = input.id ?? newId("evt");
  await tx.insert(outbox).values({
    id,
    appId: input.appId,
    scriptId: input.scriptId,
    triggerId: input.triggerId ?? null,
    kind: input.kind,
    event: input.event,
    retry: input.retry ?? DEFAULT_RETRY,
    depth: input.depth ?? 0,
    origin: input.origin,
    replayOf: input.replayOf ?? null,
  });
  await notifyIn(tx, OUTBOX_CHANNEL, "");
  return id;
}

/** A claimed row: `attempts` is the number of the attempt about to run. */
export type Claim = OutboxRow & { leaseToken: string };

/**
 * Claims up to `limit` due rows in one statement: `FOR UPDATE SKIP LOCKED`
 * so concurrent workers never take the same row, and a lease so that a row
 * whose worker died is claimable again once `lease_until` passes.
 */
export async function claim(db: Db, options: { limit: number; leaseMs: number; token?: string }): Promise<Claim[]> {
  const token = options.token ?? newId("lease");
  const due = db
    .select({ id: outbox.id })
    .from(outbox)
    .where(and(lte(outbox.runAt, sql`now()`), or(isNull(outbox.leaseUntil), lt(outbox.leaseUntil, sql`now()`))))
    .orderBy(outbox.runAt)
    .limit(options.limit)
    .for("update", { skipLocked: true });
  const rows = await db
    .update(outbox)
    .set({
      attempts: sql`${outbox.attempts} + 1`,
      leaseToken: token,
      leaseUntil: sql`now() + ${options.leaseMs} * interval '1 millisecond'`,
      firstAttemptAt: sql`coalesce(${outbox.firstAttemptAt}, now())`,
    })
    .where(inArray(outbox.id, due))
    .returning();
  return rows as Claim[];
}

/** Extends the leases of rows a worker still runs; answers the ids it still holds. */
export async function renewLeases(db: Db, claims: Pick<Claim, "id" | "leaseToken">[], leaseMs: number): Promise<string[]> {
  if (claims.length === 0) return [];
  const held = await db
    .update(outbox)
    .set({ leaseUntil: sql`now() + ${leaseMs} * interval '1 millisecond'` })
    .where(or(...claims.map((c) => and(eq(outbox.id, c.id), eq(outbox.leaseToken, c.leaseToken)))))
    .returning({ id: outbox.id });
  return held.map((r) => r.id);
}

/** Hands back rows a stopping worker claimed but did not start: claimable again at once, the attempt not counted. */
export async function releaseClaims(db: Db, claims: Pick<Claim, "id" | "leaseToken">[]): Promise<void> {
  for (const c of claims) {
    await db
      .update(outbox)
      .set({ leaseToken: null, leaseUntil: null, attempts: sql`${outbox.attempts} - 1` })
      .where(and(eq(outbox.id, c.id), eq(outbox.leaseToken, c.leaseToken)));
  }
}

export interface RunRecord extends RunFinish {
  runId: string;
  scriptVersion: number;
}

export type FailureDecision = { kind: "retry"; delayMs?: number } | { kind: "dead_letter" };

/** What a completion did; `lost` means the lease was gone and nothing was written. */
export type CompletionResult = "done" | "retrying" | "dead_lettered" | "dropped" | "lost";

/**
 * Records one attempt's end in ONE transaction: the run row, and the outbox
 * row deleted (success, dead letter) or rescheduled (retry), plus the dead
 * letter. Fenced by the claim's lease token: if another worker has re-claimed
 * the row since (our lease lapsed), nothing at all is written.
 */
export async function complete(db: Db, c: Claim, record: RunRecord | null, failure: FailureDecision | null): Promise<CompletionResult> {
  return db.transaction(async (tx) => {
    const fence = and(eq(outbox.id, c.id), eq(outbox.leaseToken, c.leaseToken));
    let result: CompletionResult;
    if (failure?.kind === "retry") {
      const delay = failure.delayMs ?? retryDelayMs(c.retry, c.attempts);
      const [kept] = await tx
        .update(outbox)
        .set({
          runAt: sql`now() + ${delay} * interval '1 millisecond'`,
          leaseToken: null,
          leaseUntil: null,
          lastError: record?.error ?? null,
        })
        .where(fence)
        .returning({ id: outbox.id });
      if (!kept) return "lost";
      result = "retrying";
    } else {
      const [gone] = await tx.delete(outbox).where(fence).returning({ id: outbox.id });
      if (!gone) return "lost";
      result = "done";
      if (failure?.kind === "dead_letter" && c.kind === "dead_letter") {
        // A dead-letter handler's own failure is never dead-lettered again:
        // that is how a failing handler cannot loop. Its runs keep the record.
        result = "dropped";
      } else if (failure?.kind === "dead_letter") {
        const deadLetterId = newId("dl");
        const lastAttemptAt = new Date();
        await tx.insert(deadLetters).values({
          id: deadLetterId,
          appId: c.appId,
          eventId: c.id,
          scriptId: c.scriptId,
          triggerId: c.triggerId,
          kind: c.kind,
          event: c.event,
          retry: c.retry,
          attempts: c.attempts,
          lastError: record?.error ?? c.lastError ?? null,
          depth: c.depth,
          firstAttemptAt: c.firstAttemptAt,
          lastAttemptAt,
        });
        await fanOutDeadLetter(tx, c, { id: deadLetterId, lastError: record?.error ?? c.lastError ?? null, lastAttemptAt });
        result = "dead_lettered";
      }
    }
    // An attempt that never ran (its worker was lost every time) leaves no run row.
    if (!record) return result;
    await tx.insert(runs).values({
      id: record.runId,
      appId: c.appId,
      scriptId: c.scriptId,
      scriptVersion: record.scriptVersion,
      triggerId: c.triggerId,
      eventId: c.id,
      eventKind: c.kind,
      attempt: c.attempts,
      status: record.status,
      startedAt: new Date(Date.now() - record.durationMs),
      finishedAt: new Date(),
      durationMs: record.durationMs,
      cpuMs: record.cpuMs,
      logs: record.logs,
      logsTruncated: record.logsTruncated,
      result: record.result ?? null,
      error: record.error ?? null,
    });
    return result;
  });
}
