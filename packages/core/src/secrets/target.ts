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
  /**
   * Scopes a read looks in, nearest first: app, then workspace, then global;
   * for an admin request, only those the principal may see (a token limited to
   * a workspace does not see the global scope, whatever path it came by).
   */
  chain: ScopeRef[];
  /** Scopes of the chain left out because the principal may not see them. */
  hidden: ScopeRef[];
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
  const id = ref.kind === "app" ? ref.app : ref.kind === "workspace" ? ref.workspace : "global";
  // Not there at all is denied (and audited) exactly as there in another
  // workspace is: the same answer after the same work, so neither the body
  // nor the time tells an app name in another workspace from none.
  if (!target) return deny({ db, principal, target: { own: { scope: ref.kind, scopeId: id }, appId: null, workspaceId: null }, action, name: name ?? null }, new NotFoundError(ref.kind, id), "not_found");
  const audit = { db, principal, target, action, name: name ?? null };
  if (target.workspaceId === null ? isWorkspaceLimited(principal) : !canSeeWorkspace(principal, target.workspaceId)) {
    if (ref.kind === "global") await deny(audit, workspaceLimited(principal), "workspace_limited");
    await deny(audit, new NotFoundError(ref.kind, id), "other_workspace");
  }
  if (!hasScope(principal, need)) await deny(audit, new ForbiddenError(`this token lacks the ${need} scope`, { required: need }), "missing_scope");
  // Every secret is authorized against the scope it lives in: what the token
  // could not reach at that scope's own path, it does not reach through this one.
  const hidden = isWorkspaceLimited(principal) ? target.chain.filter((s) => s.scope === "global") : [];
  return { ...target, chain: target.chain.filter((s) => !hidden.includes(s)), hidden };
}

/**
 * The answer for a name the principal does not find in the scopes it may see:
 * 404; or, when a scope of the chain is hidden from it, 403 as at that scope's
 * own path, audited. The 403 does not depend on whether the hidden scope holds
 * the name, so it tells nothing about what the hidden scope holds.
 */
export async function refuseMissing(db: Db, principal: Principal, target: Target, action: string, name: string): Promise<never> {
  if (target.hidden.length > 0) await deny({ db, principal, target, action, name }, workspaceLimited(principal), "workspace_limited");
  throw new NotFoundError("secret", name);
}

const isWorkspaceLimited = (principal: Principal) => principal.type === "token" && principal.workspaceId !== null;

const workspaceLimited = (principal: Principal) =>
  new ForbiddenError("this token is limited to one workspace; global secrets are out of its reach", {
    workspace_id: principal.type === "token" ? principal.workspaceId : null,
  });

/** Writes the `denied` audit row first, then refuses. */
export async function deny(
  at: { db: Db; principal: Principal; target: Pick<Target, "own" | "appId" | "workspaceId">; action: string; name: string | null },
  error: Error,
  reason: string,
): Promise<never> {
  await recordAudit(at.db, at.principal, {
    action: at.action,
    outcome: "denied",
    appId: at.target.appId,
    workspaceId: at.target.workspaceId,
    scope: at.target.own.scope,
    scopeId: at.target.own.scopeId,
    name: at.name,
    details: { reason },
  });
  throw error;
}

async function findTarget(db: Db, principal: Principal, ref: TargetRef): Promise<Target | null> {
  if (ref.kind === "global") return { own: GLOBAL, chain: [GLOBAL], hidden: [], appId: null, workspaceId: null };
  if (ref.kind === "workspace") {
    const [ws] = await db
      .select()
      .from(workspaces)
      .where(or(eq(workspaces.id, ref.workspace), eq(workspaces.name, ref.workspace)));
    if (!ws) return null;
    const own: ScopeRef = { scope: "workspace", scopeId: ws.id };
    return { own, chain: [own, GLOBAL], hidden: [], appId: null, workspaceId: ws.id };
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
  return { own, chain: [own, { scope: "workspace", scopeId: workspaceId }, GLOBAL], hidden: [], appId, workspaceId };
}

/** The audit fields naming a secret: where the request pointed and the scope that held it. */
export function secretAuditFields(target: Target, ref: ScopeRef, name: string, version: number) {
  return { appId: target.appId, workspaceId: target.workspaceId, scope: ref.scope, scopeId: ref.scopeId, name, version };
}
