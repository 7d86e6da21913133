import { eq, or } from "drizzle-orm";
import { apps, workspaces, type Db } from "@switchyard/db";
import { recordAudit } from "../audit.ts";
import type { ScopeRef } from "../data-keys.ts";
import { ForbiddenError, NotFoundError } from "../errors.ts";
import { canSeeWorkspace, hasScope, type Principal, type TokenScope } from "../principal.ts";

/** Where an admin secrets request points: an app, a workspace, or the global scope. */
export type TargetRef = { kind: "app"; app: string } | { kind: "workspace"; workspace: string } | { kind: "global" };

export interface Target {
  /** The scope writes go to. */
  own: ScopeRef;
  /** Scopes a read looks in, nearest first: app, then workspace, then global. */
  chain: ScopeRef[];
  appId: string | null;
  workspaceId: string | null;
}

export const GLOBAL: ScopeRef = { scope: "global", scopeId: "" };

/**
 * Resolves and authorizes a target. A principal that may not see it gets "not
 * found" (its existence does not leak) or "forbidden" (a missing scope), and
 * either way a `denied` audit row is written first.
 */
export async function authorizeTarget(
  db: Db,
  principal: Principal,
  ref: TargetRef,
  need: TokenScope,
  action: string,
  name?: string,
): Promise<Target> {
  const target = await findTarget(db, principal, ref);
  const deny = async (error: Error, reason: string) => {
    await recordAudit(db, principal, {
      action,
      outcome: "denied",
      appId: target?.appId ?? null,
      workspaceId: target?.workspaceId ?? null,
      scope: target?.own.scope ?? null,
      scopeId: target?.own.scopeId ?? null,
      name: name ?? null,
      details: { reason },
    });
    throw error;
  };
  if (!target) {
    const id = ref.kind === "app" ? ref.app : ref.kind === "workspace" ? ref.workspace : "global";
    throw new NotFoundError(ref.kind, id);
  }
  const limited = principal.type === "token" && principal.workspaceId !== null;
  if (target.workspaceId === null ? limited : !canSeeWorkspace(principal, target.workspaceId)) {
    const id = ref.kind === "app" ? ref.app : ref.kind === "workspace" ? ref.workspace : "global";
    if (ref.kind === "global") await deny(new ForbiddenError("this token is limited to one workspace"), "workspace_limited");
    await deny(new NotFoundError(ref.kind, id), "other_workspace");
  }
  if (!hasScope(principal, need)) await deny(new ForbiddenError(`this token lacks the ${need} scope`, { required: need }), "missing_scope");
  return target;
}

async function findTarget(db: Db, principal: Principal, ref: TargetRef): Promise<Target | null> {
  if (ref.kind === "global") return { own: GLOBAL, chain: [GLOBAL], appId: null, workspaceId: null };
  if (ref.kind === "workspace") {
    const [ws] = await db
      .select()
      .from(workspaces)
      .where(or(eq(workspaces.id, ref.workspace), eq(workspaces.name, ref.workspace)));
    if (!ws) return null;
    const own: ScopeRef = { scope: "workspace", scopeId: ws.id };
    return { own, chain: [own, GLOBAL], appId: null, workspaceId: ws.id };
  }
  const rows = await db
    .select()
    .from(apps)
    .where(or(eq(apps.id, ref.app), eq(apps.name, ref.app)));
  // An id match wins; a name must be unambiguous among the apps the principal
  // can see (or, when it sees none, among all, so the denial is audited).
  const visible = rows.filter((a) => canSeeWorkspace(principal, a.workspaceId));
  const pool = visible.length > 0 ? visible : rows;
  const app = rows.find((a) => a.id === ref.app) ?? (pool.length === 1 ? pool[0] : undefined);
  if (!app) return null;
  return appTarget(app.id, app.workspaceId);
}

export function appTarget(appId: string, workspaceId: string): Target {
  const own: ScopeRef = { scope: "app", scopeId: appId };
  return { own, chain: [own, { scope: "workspace", scopeId: workspaceId }, GLOBAL], appId, workspaceId };
}

/** The audit fields naming a secret: where the request pointed and the scope that held it. */
export function secretAuditFields(target: Target, ref: ScopeRef, name: string, version: number) {
  return { appId: target.appId, workspaceId: target.workspaceId, scope: ref.scope, scopeId: ref.scopeId, name, version };
}
