import { eq, sql } from "drizzle-orm";
import { apps, resultRows, workspaces, type Db } from "@switchyard/db";
import { recordAudit } from "./audit.ts";
import { requireScope, requireUnlimited, type Principal } from "./principal.ts";
import { getApp, getWorkspace, type App, type Workspace } from "./tenancy.ts";

/**
 * Sets (or with null clears) how many of an app's events workers may hold at
 * once across the fleet; the claim enforces it (outbox/queue.ts). Only an
 * operator may: an app's own cap wins over SWITCHYARD_APP_CONCURRENCY, so a
 * tenant who could raise it could take more than the operator's share.
 */
export async function setAppConcurrency(db: Db, principal: Principal, idOrName: string, concurrency: number | null): Promise<App> {
  requireScope(principal, "admin");
  requireUnlimited(principal);
  const app = await getApp(db, principal, idOrName);
  return db.transaction(async (tx) => {
    const [row] = await tx.update(apps).set({ concurrency }).where(eq(apps.id, app.id)).returning();
    await recordAudit(tx, principal, { action: "app.concurrency", outcome: "ok", workspaceId: app.workspaceId, appId: app.id, details: { concurrency } });
    return row ?? app;
  });
}

/** The same for all apps of a workspace together (SWITCHYARD_WORKSPACE_CONCURRENCY's override). */
export async function setWorkspaceConcurrency(db: Db, principal: Principal, idOrName: string, concurrency: number | null): Promise<Workspace> {
  requireScope(principal, "admin");
  requireUnlimited(principal);
  const workspace = await getWorkspace(db, principal, idOrName);
  return db.transaction(async (tx) => {
    const [row] = await tx.update(workspaces).set({ concurrency }).where(eq(workspaces.id, workspace.id)).returning();
    await recordAudit(tx, principal, { action: "workspace.concurrency", outcome: "ok", workspaceId: workspace.id, details: { concurrency } });
    return row ?? workspace;
  });
}

/** Whether any app or workspace has a cap of its own: claims must then take the fleet's claim lock (see claim()). */
export async function concurrencyCapsSet(db: Db): Promise<boolean> {
  const [row] = resultRows<{ set: boolean }>(
    await db.execute(sql`select exists (select 1 from apps where concurrency is not null) or exists (select 1 from workspaces where concurrency is not null) as set`),
  );
  return row?.set === true;
}
