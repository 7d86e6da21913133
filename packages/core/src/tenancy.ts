import { and, asc, eq, or } from "drizzle-orm";
import { apps, dataKeys, notifyIn, secrets, workspaces, type Db } from "@switchyard/db";
import { recordAudit } from "./audit.ts";
import { ConflictError, isUniqueViolation, NotFoundError } from "./errors.ts";
import { newId } from "./ids.ts";
import { SECRETS_CHANNEL } from "./secrets/vault.ts";
import { canSeeWorkspace, requireScope, requireUnlimited, type Principal } from "./principal.ts";

export type Workspace = typeof workspaces.$inferSelect;
export type App = typeof apps.$inferSelect;

export const DEFAULT_WORKSPACE_ID = "ws_default";

export async function createWorkspace(db: Db, principal: Principal, name: string): Promise<Workspace> {
  requireScope(principal, "admin");
  requireUnlimited(principal);
  return db.transaction(async (tx) => {
    const [row] = await tx
      .insert(workspaces)
      .values({ id: newId("ws"), name })
      .onConflictDoNothing()
      .returning();
    if (!row) throw new ConflictError(`a workspace named ${JSON.stringify(name)} already exists`, { name });
    await recordAudit(tx, principal, { action: "workspace.create", outcome: "ok", workspaceId: row.id, name });
    return row;
  });
}

export async function listWorkspaces(db: Db, principal: Principal): Promise<Workspace[]> {
  const rows = await db.select().from(workspaces).orderBy(asc(workspaces.createdAt), asc(workspaces.name));
  return rows.filter((w) => canSeeWorkspace(principal, w.id));
}

export async function getWorkspace(db: Db, principal: Principal, idOrName: string): Promise<Workspace> {
  const [row] = await db
    .select()
    .from(workspaces)
    .where(or(eq(workspaces.id, idOrName), eq(workspaces.name, idOrName)));
  if (!row || !canSeeWorkspace(principal, row.id)) throw new NotFoundError("workspace", idOrName);
  return row;
}

export async function createApp(
  db: Db,
  principal: Principal,
  input: { name: string; workspaceId?: string | undefined },
): Promise<App> {
  requireScope(principal, "apps:write");
  const workspaceId =
    input.workspaceId ?? (principal.type === "token" ? principal.workspaceId : null) ?? DEFAULT_WORKSPACE_ID;
  const workspace = await getWorkspace(db, principal, workspaceId);
  return db.transaction(async (tx) => {
    let row: App | undefined;
    try {
      [row] = await tx
        .insert(apps)
        .values({ id: newId("app"), workspaceId: workspace.id, name: input.name })
        .onConflictDoNothing()
        .returning();
    } catch (error) {
      if (isUniqueViolation(error)) row = undefined;
      else throw error;
    }
    if (!row) {
      throw new ConflictError(`an app named ${JSON.stringify(input.name)} already exists in this workspace`, {
        name: input.name,
        workspace_id: workspace.id,
      });
    }
    await recordAudit(tx, principal, {
      action: "app.create",
      outcome: "ok",
      workspaceId: workspace.id,
      appId: row.id,
      name: row.name,
    });
    return row;
  });
}

export async function listApps(db: Db, principal: Principal, workspaceId?: string): Promise<App[]> {
  const rows = await db
    .select()
    .from(apps)
    .where(workspaceId ? eq(apps.workspaceId, workspaceId) : undefined)
    .orderBy(asc(apps.createdAt), asc(apps.name));
  return rows.filter((a) => canSeeWorkspace(principal, a.workspaceId));
}

/**
 * Finds an app by id, or by name when the name is unique among the apps the
 * principal can see. An app in a workspace the principal cannot see is "not
 * found", so its existence does not leak.
 */
export async function getApp(db: Db, principal: Principal, idOrName: string): Promise<App> {
  const rows = await db
    .select()
    .from(apps)
    .where(or(eq(apps.id, idOrName), eq(apps.name, idOrName)));
  const byId = rows.find((a) => a.id === idOrName);
  const candidates = byId ? [byId] : rows;
  const visible = candidates.filter((a) => canSeeWorkspace(principal, a.workspaceId));
  if (visible.length > 1) {
    throw new ConflictError(`several apps are named ${JSON.stringify(idOrName)}; use the app id`, {
      ids: visible.map((a) => a.id),
    });
  }
  const [app] = visible;
  if (!app) throw new NotFoundError("app", idOrName);
  return app;
}

export async function deleteApp(db: Db, principal: Principal, idOrName: string): Promise<void> {
  requireScope(principal, "apps:write");
  const app = await getApp(db, principal, idOrName);
  await db.transaction(async (tx) => {
    // An app's own secrets and data key go with it; its audit rows stay.
    await tx.delete(secrets).where(and(eq(secrets.scope, "app"), eq(secrets.scopeId, app.id)));
    await tx.delete(dataKeys).where(and(eq(dataKeys.scope, "app"), eq(dataKeys.scopeId, app.id)));
    await tx.delete(apps).where(eq(apps.id, app.id));
    await notifyIn(tx, SECRETS_CHANNEL, `app:${app.id}`);
    await recordAudit(tx, principal, {
      action: "app.delete",
      outcome: "ok",
      workspaceId: app.workspaceId,
      appId: app.id,
      name: app.name,
    });
  });
}

/** For runners: an app by id, without a principal. */
export async function getAppById(db: Db, appId: string): Promise<App | undefined> {
  const [row] = await db.select().from(apps).where(eq(apps.id, appId));
  return row;
}
