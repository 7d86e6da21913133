import { and, desc, eq, lt, type SQL } from "drizzle-orm";
import { auditLog, type Db } from "@switchyard/db";
import { AuditUnavailableError } from "./errors.ts";
import { actorOf, type Principal } from "./principal.ts";

export interface AuditEntry {
  action: string;
  outcome: "ok" | "denied" | "error";
  workspaceId?: string | null;
  appId?: string | null;
  scope?: string | null;
  scopeId?: string | null;
  name?: string | null;
  version?: number | null;
  /** Metadata only. Never a secret value. */
  details?: Record<string, unknown> | null;
}

/**
 * Writes one audit row with `db` (usually the transaction of the operation it
 * records). It fails closed: if the row cannot be written, the operation fails
 * too, with `audit_unavailable`.
 */
export async function recordAudit(db: Db, principal: Principal, entry: AuditEntry): Promise<void> {
  try {
    await db.insert(auditLog).values({ ...actorOf(principal), ...entry });
  } catch (error) {
    throw new AuditUnavailableError(error);
  }
}

/** Writes many audit rows in one statement, failing closed like `recordAudit`. */
export async function recordAuditBatch(db: Db, principal: Principal, entries: AuditEntry[]): Promise<void> {
  if (entries.length === 0) return;
  try {
    await db.insert(auditLog).values(entries.map((entry) => ({ ...actorOf(principal), ...entry })));
  } catch (error) {
    throw new AuditUnavailableError(error);
  }
}

export interface AuditQuery {
  appId?: string;
  workspaceId?: string;
  action?: string;
  name?: string;
  /** Rows with an id below this one (paging backwards). */
  before?: number;
  limit?: number;
}

export type AuditRow = typeof auditLog.$inferSelect;

/** Newest first. */
export async function listAudit(db: Db, query: AuditQuery): Promise<AuditRow[]> {
  const where: SQL[] = [];
  if (query.appId) where.push(eq(auditLog.appId, query.appId));
  if (query.workspaceId) where.push(eq(auditLog.workspaceId, query.workspaceId));
  if (query.action) where.push(eq(auditLog.action, query.action));
  if (query.name) where.push(eq(auditLog.name, query.name));
  if (query.before) where.push(lt(auditLog.id, query.before));
  return db
    .select()
    .from(auditLog)
    .where(and(...where))
    .orderBy(desc(auditLog.id))
    .limit(Math.min(query.limit ?? 100, 500));
}
