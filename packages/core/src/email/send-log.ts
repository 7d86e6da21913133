import { and, desc, eq, inArray, lt, or, sql, type SQL } from "drizzle-orm";
import { emailMessages, type Db } from "@switchyard/db";
import { newId } from "../ids.ts";
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

/** The send log as the email sender writes and reads it. */
export function createSendLog(db: Db) {
  return {
    async find(appId: string, idempotencyKey: string): Promise<RecordedSend | null> {
      const [row] = await db
        .select({ messageId: emailMessages.messageId, accepted: emailMessages.accepted, rejected: emailMessages.rejected })
        .from(emailMessages)
        .where(and(eq(emailMessages.appId, appId), eq(emailMessages.idempotencyKey, idempotencyKey), inArray(emailMessages.status, ["sent", "captured"])));
      return row ? { message_id: row.messageId ?? "", accepted: row.accepted, rejected: row.rejected } : null;
    },
    async record(entry: Omit<EmailMessageInsert, "fromAddress"> & { from: string }): Promise<void> {
      const json = (value: unknown) => (value === null || value === undefined ? null : JSON.stringify(value));
      // One statement, committed without waiting for the WAL flush: the
      // WHERE turns synchronous_commit off for this statement's own
      // transaction. The run's completion, a durable commit made after it,
      // flushes the WAL up to and past this row, so only a database crash
      // before that completion can lose it — and then the run is retried
      // anyway. A send thus pays no disk flush of its own. A second success
      // under one idempotency key (two workers racing on one event) keeps
      // the first row: the log says what went out first.
      await db.execute(sql`
        insert into email_messages (id, app_id, run_id, script_id, status, from_address, "to", cc, bcc, subject, message_id, accepted, rejected, error, size, body, idempotency_key)
        select ${newId("msg")}, ${entry.appId}, ${entry.runId ?? null}, ${entry.scriptId ?? null}, ${entry.status}, ${entry.from},
               ${json(entry.to)}::jsonb, ${json(entry.cc)}::jsonb, ${json(entry.bcc)}::jsonb, ${entry.subject}, ${entry.messageId ?? null},
               ${json(entry.accepted)}::jsonb, ${json(entry.rejected)}::jsonb, ${json(entry.error)}::jsonb, ${entry.size}::int, ${json(entry.body)}::jsonb,
               ${entry.idempotencyKey ?? null}
        where set_config('synchronous_commit', 'off', true) is not null
        on conflict do nothing`);
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
