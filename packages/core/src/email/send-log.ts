import { and, desc, eq, inArray, lt, or, sql, type SQL } from "drizzle-orm";
import { emailMessages, type Db } from "@switchyard/db";
import { newId } from "../ids.ts";
import { executePrepared } from "../outbox/prepared.ts";
import { NotFoundError } from "../errors.ts";
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

const json = (value: unknown) => (value === null || value === undefined ? null : JSON.stringify(value));

/**
 * Writes log rows in one statement, durably: a `sent` row is also the
 * idempotency record a retried run looks for, so losing it in a crash would
 * let the retry send the mail again. Rows recorded meanwhile share the
 * statement (see rowBatcher), which spreads the commit's flush over them. A
 * second success under one idempotency key (two workers racing on one event)
 * keeps the first row: the log says what went out first.
 */
async function writeRows(db: Db, entries: SendLogEntry[]): Promise<void> {
  const rows = entries.map(
    (e) => sql`(${newId("msg")}, ${e.appId}, ${e.runId ?? null}, ${e.scriptId ?? null}, ${e.status}, ${e.from},
      ${json(e.to)}::jsonb, ${json(e.cc)}::jsonb, ${json(e.bcc)}::jsonb, ${e.subject}, ${e.messageId ?? null},
      ${json(e.accepted)}::jsonb, ${json(e.rejected)}::jsonb, ${json(e.error)}::jsonb, ${e.size}::int, ${json(e.body)}::jsonb, ${e.idempotencyKey ?? null})`,
  );
  await executePrepared(db, `email_log_${rows.length}`, sql`
    insert into email_messages (id, app_id, run_id, script_id, status, from_address, "to", cc, bcc, subject, message_id, accepted, rejected, error, size, body, idempotency_key)
    values ${sql.join(rows, sql`, `)}
    on conflict do nothing`);
}

/**
 * Gathers the rows recorded while a write is under way and writes them
 * together next: under load, many sends share one statement; alone, a row is
 * written at once. If a batch fails, each of its rows is retried on its own,
 * so one bad row cannot fail the others' sends.
 */
function rowBatcher(db: Db) {
  const pending: { entry: SendLogEntry; done: (error?: unknown) => void }[] = [];
  let writing = false;
  async function drain() {
    writing = true;
    while (pending.length > 0) {
      const batch = pending.splice(0, 200);
      try {
        await writeRows(db, batch.map((p) => p.entry));
        for (const p of batch) p.done();
      } catch {
        for (const p of batch) await writeRows(db, [p.entry]).then(() => p.done(), (error: unknown) => p.done(error ?? new Error("send log write failed")));
      }
    }
    writing = false;
  }
  return {
    add(entry: SendLogEntry): Promise<void> {
      return new Promise((resolve, reject) => {
        pending.push({ entry, done: (error) => (error ? reject(error) : resolve()) });
        if (!writing) void drain();
      });
    },
  };
}

/** The send log as the email sender writes and reads it. */
export function createSendLog(db: Db) {
  const batcher = rowBatcher(db);
  return {
    async find(appId: string, idempotencyKey: string): Promise<RecordedSend | null> {
      const [row] = await db
        .select({ messageId: emailMessages.messageId, accepted: emailMessages.accepted, rejected: emailMessages.rejected })
        .from(emailMessages)
        .where(and(eq(emailMessages.appId, appId), eq(emailMessages.idempotencyKey, idempotencyKey), inArray(emailMessages.status, ["sent", "captured"])));
      return row ? { message_id: row.messageId ?? "", accepted: row.accepted, rejected: row.rejected } : null;
    },
    /** Resolves once the row is written; rows recorded meanwhile share one statement. */
    record(entry: SendLogEntry): Promise<void> {
      return batcher.add(entry);
    },
  };
}

export interface EmailQuery {
  status?: "sent" | "captured" | "failed" | undefined;
  runId?: string | undefined;
  before?: string | undefined;
  limit?: number | undefined;
}

/** The send log of an app, newest first; `before` pages by the last id seen. */
export async function listEmails(db: Db, principal: Principal, appRef: string, query: EmailQuery): Promise<EmailMessage[]> {
  requireScope(principal, "runs:read");
  const app = await getApp(db, principal, appRef);
  const where: SQL[] = [eq(emailMessages.appId, app.id)];
  if (query.status) where.push(eq(emailMessages.status, query.status));
  if (query.runId) where.push(eq(emailMessages.runId, query.runId));
  if (query.before) {
    const [pivot] = await db.select({ createdAt: emailMessages.createdAt }).from(emailMessages).where(eq(emailMessages.id, query.before));
    if (pivot) {
      const older = or(lt(emailMessages.createdAt, pivot.createdAt), and(eq(emailMessages.createdAt, pivot.createdAt), lt(emailMessages.id, query.before)));
      if (older) where.push(older);
    }
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
