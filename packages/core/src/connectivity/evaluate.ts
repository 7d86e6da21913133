import { and, eq, gt, inArray, sql } from "drizzle-orm";
import { connectivityMinutes, connectivityStatus, type Db } from "@switchyard/db";
import { fanOutConnectivityChange, type ConnectivityChange } from "./events.ts";
import { decideStatus, type ConnectivityStatus, type StatusRules } from "./rules.ts";
import { mergeRows, windowStart, type MinuteRow } from "./window.ts";

export interface HostRef {
  appId: string;
  host: string;
}

type StatusRow = typeof connectivityStatus.$inferSelect;

/** A lost compare-and-set reads again and decides again, this many times at most. */
const ATTEMPTS = 3;

/**
 * Re-evaluates the status of each (app, host) against every worker's rows in
 * the window and writes each change as a compare-and-set on its status row,
 * with the change's events in the same transaction: when several workers
 * evaluate one host at once, one change commits and fires, the others find
 * the counter moved and decide again from what is now stored. A host seen
 * for the first time starts as healthy. Answers the changes this call made.
 *
 * @example
 * const changes = await evaluateHosts(db, [{ appId, host: "api.example.com" }], DEFAULT_STATUS_RULES);
 */
export async function evaluateHosts(db: Db, hosts: readonly HostRef[], rules: StatusRules, now: () => Date = () => new Date()): Promise<ConnectivityChange[]> {
  const byApp = new Map<string, Set<string>>();
  for (const { appId, host } of hosts) (byApp.get(appId) ?? byApp.set(appId, new Set()).get(appId))?.add(host);
  const changes: ConnectivityChange[] = [];
  for (const [appId, set] of byApp) {
    let pending = [...set];
    for (let attempt = 0; attempt < ATTEMPTS && pending.length > 0; attempt++) {
      const at = now();
      const [rows, statuses] = await Promise.all([windowRows(db, appId, pending, at, rules.windowMs), statusRows(db, appId, pending, at)]);
      const lost: string[] = [];
      for (const host of pending) {
        const current = statuses.get(host);
        if (!current) continue; // its app was deleted meanwhile
        const outcome = await decideAndSet(db, current, rows.get(host) ?? [], rules, at);
        if (outcome === "lost") lost.push(host);
        else if (outcome) changes.push(outcome);
      }
      pending = lost;
    }
  }
  return changes;
}

async function decideAndSet(db: Db, current: StatusRow, rows: MinuteRow[], rules: StatusRules, now: Date): Promise<ConnectivityChange | "lost" | null> {
  const all = mergeRows(rows, rules.streak);
  // After a recovery, the rate and latency rules count only later minutes:
  // an outage still inside the window must not hold the host degraded.
  const recoveredAt = current.recoveredAt?.getTime() ?? null;
  const counted = recoveredAt === null ? all : mergeRows(rows.filter((r) => r.minute.getTime() > recoveredAt), rules.streak);
  const decision = decideStatus(current.status, { window: counted, recent: all.recent }, rules);
  if (decision.status === current.status) return null;
  const to: ConnectivityStatus = decision.status;
  const lastError = all.lastError ?? current.lastError;
  return db.transaction(async (tx) => {
    const [won] = await tx
      .update(connectivityStatus)
      .set({
        status: to,
        since: now,
        lastError,
        changes: sql`${connectivityStatus.changes} + 1`,
        checkedAt: now,
        ...(decision.recovered ? { recoveredAt: now } : {}),
      })
      .where(and(eq(connectivityStatus.appId, current.appId), eq(connectivityStatus.host, current.host), eq(connectivityStatus.changes, current.changes)))
      .returning({ changes: connectivityStatus.changes });
    if (!won) return "lost" as const;
    const change: ConnectivityChange = { appId: current.appId, host: current.host, from: current.status, to, since: now, lastError, change: won.changes };
    await fanOutConnectivityChange(tx, change);
    return change;
  });
}

async function windowRows(db: Db, appId: string, hosts: string[], now: Date, windowMs: number): Promise<Map<string, MinuteRow[]>> {
  const rows = await db
    .select()
    .from(connectivityMinutes)
    .where(and(eq(connectivityMinutes.appId, appId), inArray(connectivityMinutes.host, hosts), gt(connectivityMinutes.minute, windowStart(now, windowMs))));
  const byHost = new Map<string, MinuteRow[]>();
  for (const row of rows) (byHost.get(row.host) ?? byHost.set(row.host, []).get(row.host))?.push(row);
  return byHost;
}

/** The hosts' status rows; a host without one gets one, healthy from now. */
async function statusRows(db: Db, appId: string, hosts: string[], now: Date): Promise<Map<string, StatusRow>> {
  const read = async () => {
    const rows = await db
      .select()
      .from(connectivityStatus)
      .where(and(eq(connectivityStatus.appId, appId), inArray(connectivityStatus.host, hosts)));
    return new Map(rows.map((r) => [r.host, r]));
  };
  const found = await read();
  const missing = hosts.filter((h) => !found.has(h));
  if (missing.length === 0) return found;
  // Inserted only for an app that still exists: a deleted app's hosts get no row.
  await db.execute(sql`
    insert into connectivity_status (app_id, host, status, since, checked_at)
    select a.id, h.host, 'healthy', ${now.toISOString()}::timestamptz, ${now.toISOString()}::timestamptz
    from apps a cross join jsonb_array_elements_text(${JSON.stringify(missing)}::jsonb) as h(host)
    where a.id = ${appId}
    on conflict do nothing`);
  return read();
}
