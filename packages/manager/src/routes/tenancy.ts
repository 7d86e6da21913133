import {
  createApp,
  createToken,
  createWorkspace,
  deleteApp,
  ForbiddenError,
  getApp,
  liftEngineBlock,
  listApps,
  listWorkspaces,
  revokeToken,
  setAppConcurrency,
  setWorkspaceConcurrency,
  type App,
  type Principal,
  type Workspace,
} from "@switchyard/core";
import type { ManagerDeps } from "../env.ts";
import type { RouteRegistry } from "./registry.ts";
import { appCreateBody, appListQuery, concurrencyBody, tokenCreateBody, workspaceCreateBody } from "./schemas.ts";

// engine_blocked_at: set while its events are refused for stopping the engine too often (DELETE .../engine-block lifts it).
const workspaceJson = (w: Workspace) => ({ id: w.id, name: w.name, concurrency: w.concurrency, engine_blocked_at: w.engineBlockedAt, created_at: w.createdAt });
const appJson = (a: App) => ({ id: a.id, name: a.name, workspace_id: a.workspaceId, concurrency: a.concurrency, created_at: a.createdAt });

/** The calling token as `GET /api/v1/admin/whoami` shows it, so a client can offer only what it may do. */
function whoamiJson(principal: Principal) {
  // The bearer middleware only ever sets token principals; a run or the system never calls the admin API.
  if (principal.type !== "token") throw new ForbiddenError("only an API token has an identity here", { principal_type: principal.type });
  return { type: principal.type, id: principal.id, scopes: [...principal.scopes].sort(), workspace_id: principal.workspaceId };
}

/** Tokens, workspaces and apps. */
export function tenancyRoutes(routes: RouteRegistry, { database }: ManagerDeps): void {
  const { db } = database;

  routes.add(
    { method: "post", path: "/api/v1/admin/tokens", summary: "Create an API token (shown once)", tag: "tokens", scope: "admin", body: tokenCreateBody, status: 201 },
    async (c, { body, principal }) => {
      const created = await createToken(db, principal, {
        name: body.name,
        scopes: body.scopes,
        workspaceId: body.workspace_id ?? undefined,
      });
      return c.json(
        { id: created.id, token: created.token, name: created.name, scopes: created.scopes, workspace_id: created.workspaceId },
        201,
      );
    },
  );

  routes.add(
    { method: "get", path: "/api/v1/admin/whoami", summary: "Show the calling token: its id, scopes and workspace", tag: "tokens" },
    (c, { principal }) => c.json(whoamiJson(principal)),
  );

  routes.add(
    { method: "delete", path: "/api/v1/admin/tokens/:tokenId", summary: "Revoke an API token", tag: "tokens", scope: "admin", status: 204 },
    async (c, { principal }) => {
      await revokeToken(db, principal, c.req.param("tokenId") ?? "");
      return c.body(null, 204);
    },
  );

  routes.add(
    { method: "post", path: "/api/v1/admin/workspaces", summary: "Create a workspace", tag: "workspaces", scope: "admin", body: workspaceCreateBody, status: 201 },
    async (c, { body, principal }) => c.json(workspaceJson(await createWorkspace(db, principal, body.name)), 201),
  );

  routes.add(
    { method: "get", path: "/api/v1/admin/workspaces", summary: "List workspaces", tag: "workspaces" },
    async (c, { principal }) => c.json({ workspaces: (await listWorkspaces(db, principal)).map(workspaceJson) }),
  );

  routes.add(
    {
      method: "patch",
      path: "/api/v1/admin/workspaces/:workspaceId",
      summary: "Cap how many events of the workspace's apps workers hold at once (null: the operator's default)",
      tag: "workspaces",
      scope: "admin",
      body: concurrencyBody,
    },
    async (c, { body, principal }) => c.json(workspaceJson(await setWorkspaceConcurrency(db, principal, c.req.param("workspaceId") ?? "", body.concurrency))),
  );

  routes.add(
    {
      method: "delete",
      path: "/api/v1/admin/workspaces/:workspaceId/engine-block",
      summary: "Lift the block on a workspace whose scripts stopped the engine too often; its crashes are counted afresh",
      tag: "workspaces",
      scope: "admin",
    },
    async (c, { principal }) => c.json(workspaceJson(await liftEngineBlock(db, principal, c.req.param("workspaceId") ?? ""))),
  );

  routes.add(
    { method: "post", path: "/api/v1/admin/apps", summary: "Create an app", tag: "apps", scope: "apps:write", body: appCreateBody, status: 201 },
    async (c, { body, principal }) =>
      c.json(appJson(await createApp(db, principal, { name: body.name, workspaceId: body.workspace_id })), 201),
  );

  routes.add(
    { method: "get", path: "/api/v1/admin/apps", summary: "List apps", tag: "apps", query: appListQuery },
    async (c, { query, principal }) => c.json({ apps: (await listApps(db, principal, query.workspace_id)).map(appJson) }),
  );

  routes.add(
    { method: "get", path: "/api/v1/admin/apps/:appId", summary: "Show an app (by id or name)", tag: "apps" },
    async (c, { principal }) => c.json(appJson(await getApp(db, principal, c.req.param("appId") ?? ""))),
  );

  routes.add(
    {
      method: "patch",
      path: "/api/v1/admin/apps/:appId",
      summary: "Cap how many of the app's events workers hold at once (null: the operator's default)",
      tag: "apps",
      scope: "admin",
      body: concurrencyBody,
    },
    async (c, { body, principal }) => c.json(appJson(await setAppConcurrency(db, principal, c.req.param("appId") ?? "", body.concurrency))),
  );

  routes.add(
    { method: "delete", path: "/api/v1/admin/apps/:appId", summary: "Delete an app", tag: "apps", scope: "apps:write", status: 204 },
    async (c, { principal }) => {
      await deleteApp(db, principal, c.req.param("appId") ?? "");
      return c.body(null, 204);
    },
  );
}
