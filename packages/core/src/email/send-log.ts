import { and, desc, eq, inArray, sql, type SQL } from "drizzle-orm";
import { emailMessages, type Db } from "@switchyard/db";
import { newId } from "../ids.ts";
import { afterPivot } from "../paging.ts";
import { executePrepared } from "../outbox/prepared.ts";
import { InvalidCursorError, NotFoundError } from "../errors.ts";
import { requireScope, type Principal } from "../principal.ts";
import { getApp } from "../tenancy.ts";

export type EmailMessage = typeof emailMessages.$inferSelect;
export type EmailMessageInsert = Omit<typeof emailMessages.$inferInsert, "id" | "createdAt">;

/** What a send answered, kept so a retried run gets it again instead of a second copy. */
export interface RecordedSend {
  message_id: string;
  accepted: string[];
  rejected: string[];
}

type SendLogEntry = Omit<EmailMessageInsert, "fromAddress"> & { from: string };

/**
 * Writes log rows in one statement, durably: a `sent` row is also the
 * idempotency record a retried run looks for, so losing it in a crash would
 * let the retry send the mail again. The rows travel as one JSON parameter
 * (one prepared statement for any number of rows; PostgreSQL unpacks them),
 * which costs this process a JSON.stringify instead of a bound parameter per
 * column per row. A second success under one idempotency key (two workers
 * racing on one event) keeps the first row: the log says what went out first.
 */
async function writeRows(db: Db, entries: SendLogEntry[]): Promise<void> {
  const rows = entries.map((e) => ({
    id: newId("msg"),
    app_id: e.appId,
    run_id: e.runId ?? null,
    script_id: e.scriptId ?? null,
    status: e.status,
    from_address: e.from,
    to: e.to,
    cc: e.cc,
    bcc: e.bcc,
    subject: e.subject,
    message_id: e.messageId ?? null,
    accepted: e.accepted,
    rejected: e.rejected,
    error: e.error ?? null,
    size: e.size,
    body: e.body ?? null,
    idempotency_key: e.idempotencyKey ?? null,
  }));
  await executePrepared(db, "email_log", sql`
    insert into email_messages (id, app_id, run_id, script_id, status, from_address, "to", cc, bcc, subject, message_id, accepted, rejected, error, size, body, idempotency_key)
    select id, app_id, run_id, script_id, status, from_address, "to", cc, bcc, subject, message_id, accepted, rejected, error, size, body, idempotency_key
    from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as r(id text, app_id text, run_id text, script_id text, status text, from_address text,
      "to" jsonb, cc jsonb, bcc jsonb, subject text, message_id text, accepted jsonb, rejected jsonb, error jsonb, size int, body jsonb, idempotency_key text)
    on conflict do nothing`);
}

/** Rows per statement, at most. */
const BATCH_ROWS = 200;

/**
 * Gathers rows and writes them together: a statement goes out when
 * `BATCH_ROWS` are waiting, when a run settling on its rows asks (flush), or
 * `lingerMs` after the first row that found no statement under way, so
 * under load many rows share one statement and its commit's WAL flush.
 * Nobody waits on that but settle: a send answers the script as soon as SMTP
 * has. If a batch fails, each of its rows is retried on its own, so one bad
 * row cannot fail the others' sends.
 */
function rowBatcher(db: Db, lingerMs: number) {
  const pending: { entry: SendLogEntry; done: (error?: unknown) => void }[] = [];
  let writing = false;
  let lingering: NodeJS.Timeout | null = null;
  // A run is settling: write without lingering until nothing waits.
  let hurry = false;

  function schedule(): void {
    if (writing || pending.length === 0) return;
    if (pending.length >= BATCH_ROWS || hurry) {
      if (lingering) clearTimeout(lingering);
      lingering = null;
      void writeBatch();
    } else if (!lingering) {
      lingering = setTimeout(() => {
        lingering = null;
        if (!writing) void writeBatch();
      }, lingerMs);
    }
  }

  async function writeBatch(): Promise<void> {
    if (pending.length === 0) return;
    writing = true;
    const batch = pending.splice(0, BATCH_ROWS);
    if (pending.length === 0) hurry = false;
    try {
      await writeRows(db, batch.map((p) => p.entry));
      for (const p of batch) p.done();
    } catch {
      for (const p of batch) await writeRows(db, [p.entry]).then(() => p.done(), (error: unknown) => p.done(error ?? new Error("send log write failed")));
    } finally {
      writing = false;
      schedule();
    }
  }

  return {
    add(entry: SendLogEntry): Promise<void> {
      return new Promise((resolve, reject) => {
        pending.push({ entry, done: (error) => (error ? reject(error) : resolve()) });
        schedule();
      });
    },
    flush(): void {
      if (pending.length === 0) return;
      hurry = true;
      schedule();
    },
  };
}

/** The send log as the email sender writes and reads it. */
export function createSendLog(db: Db, options: { lingerMs?: number } = {}) {
  const batcher = rowBatcher(db, options.lingerMs ?? 10);
  return {
    async find(appId: string, idempotencyKey: string): Promise<RecordedSend | null> {
      const [row] = await db
        .select({ messageId: emailMessages.messageId, accepted: emailMessages.accepted, rejected: emailMessages.rejected })
        .from(emailMessages)
        .where(and(eq(emailMessages.appId, appId), eq(emailMessages.idempotencyKey, idempotencyKey), inArray(emailMessages.status, ["sent", "captured"])));
      return row ? { message_id: row.messageId ?? "", accepted: row.accepted, rejected: row.rejected } : null;
    },
    /** Resolves once the row is written, durably; rows recorded within a few ms share one statement. */
    record(entry: SendLogEntry): Promise<void> {
      return batcher.add(entry);
    },
    /** Writes the rows waiting for company now (a run is settling on them). */
    flush(): void {
      batcher.flush();
    },
  };
}

export interface EmailQuery {
  status?: "sent" | "captured" | "failed" | undefined;
  runId?: string | undefined;
  before?: string | undefined;
  limit?: number | undefined;
}

/**
 * The send log of an app, newest first; `before` pages by the last id seen.
 * The cursor is looked up in this app only: another app's message, like a
 * made-up id, is refused with invalid_cursor, so the answer says nothing of
 * whether it exists elsewhere (and an unknown cursor never silently restarts
 * the list from the top).
 */
export async function listEmails(db: Db, principal: Principal, appRef: string, query: EmailQuery): Promise<EmailMessage[]> {
  requireScope(principal, "runs:read");
  const app = await getApp(db, principal, appRef);
  const where: SQL[] = [eq(emailMessages.appId, app.id)];
  if (query.status) where.push(eq(emailMessages.status, query.status));
  if (query.runId) where.push(eq(emailMessages.runId, query.runId));
  if (query.before !== undefined) {
    const [pivot] = await db
      .select({ id: emailMessages.id })
      .from(emailMessages)
      .where(and(eq(emailMessages.appId, app.id), eq(emailMessages.id, query.before)));
    if (!pivot) throw new InvalidCursorError("before");
    where.push(afterPivot(emailMessages, emailMessages.createdAt, emailMessages.id, pivot.id));
  }
  return db
    .select()
    .from(emailMessages)
    .where(and(...where))
    .orderBy(desc(emailMessages.createdAt), desc(emailMessages.id))
    .limit(Math.min(query.limit ?? 50, 200));
}

export async function getEmail(db: Db, principal: Principal, appRef: string, id: string): Promise<EmailMessage> {
  requireScope(principal, "runs:read");
  const app = await getApp(db, principal, appRef);
  const [row] = await db.select().from(emailMessages).where(and(eq(emailMessages.appId, app.id), eq(emailMessages.id, id)));
  if (!row) throw new NotFoundError("email", id);
  return row;
}
