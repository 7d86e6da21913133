import { eq, sql } from "drizzle-orm";
import { workspaces, type Db } from "@switchyard/db";
import { recordAudit } from "./audit.ts";
import { requireScope, requireUnlimited, type Principal } from "./principal.ts";
import { getWorkspace, type Workspace } from "./tenancy.ts";

/**
 * Lifts a workspace's engine block (outbox/quarantine.ts): its events run
 * again, and its crashes are counted afresh from now. Only an operator may
 * (an admin token limited to no workspace): the block exists because the
 * workspace's own tenant kept stopping workers. Lifting a workspace that is
 * not blocked changes nothing but the count's start.
 */
export async function liftEngineBlock(db: Db, principal: Principal, idOrName: string): Promise<Workspace> {
  requireScope(principal, "admin");
  requireUnlimited(principal);
  const workspace = await getWorkspace(db, principal, idOrName);
  return db.transaction(async (tx) => {
    const [row] = await tx
      .update(workspaces)
      .set({ engineBlockedAt: null, engineCrashesSince: sql`now()` })
      .where(eq(workspaces.id, workspace.id))
      .returning();
    await recordAudit(tx, principal, {
      action: "workspace.engine_block.lift",
      outcome: "ok",
      workspaceId: workspace.id,
      details: { was_blocked_at: workspace.engineBlockedAt?.toISOString() ?? null },
    });
    return row ?? workspace;
  });
}
