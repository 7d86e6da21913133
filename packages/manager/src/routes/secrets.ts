import type { AuditRow, TargetRef } from "@switchyard/core";
import type { Context } from "hono";
import { z } from "zod";
import type { AppEnv, ManagerDeps } from "../env.ts";
import { errorBody } from "../http-errors.ts";
import type { RouteRegistry } from "./registry.ts";
import { listAnswer, metadataAnswer, revealAnswer, rollbackAnswer, rollbackBody, setBody, versionsAnswer, writeAnswer } from "./secret-schemas.ts";

const importQuery = z.strictObject({ dry_run: z.enum(["true", "false", "1", "0"]).optional() });
const auditQuery = z.strictObject({
  action: z.string().max(64).optional(),
  name: z.string().max(128).optional(),
  before: z.coerce.number().int().positive().optional(),
  limit: z.coerce.number().int().min(1).max(500).optional(),
});

/** The three places secrets live, each with the same routes. */
const BASES: { base: string; tag: string; target: (c: Context<AppEnv>) => TargetRef }[] = [
  { base: "/api/v1/admin/apps/:appId", tag: "app secrets", target: (c) => ({ kind: "app", app: c.req.param("appId") ?? "" }) },
  {
    base: "/api/v1/admin/workspaces/:workspaceId",
    tag: "workspace secrets",
    target: (c) => ({ kind: "workspace", workspace: c.req.param("workspaceId") ?? "" }),
  },
  { base: "/api/v1/admin/global", tag: "global secrets", target: () => ({ kind: "global" }) },
];

const auditJson = (row: AuditRow) => ({
  id: row.id,
  at: row.at,
  actor_type: row.actorType,
  actor_id: row.actorId,
  action: row.action,
  outcome: row.outcome,
  workspace_id: row.workspaceId,
  app_id: row.appId,
  scope: row.scope,
  name: row.name,
  version: row.version,
  details: row.details,
});

/** Admin routes of the vault, as API.md lists them, under apps, workspaces and global. */
export function secretRoutes(routes: RouteRegistry, { secrets }: ManagerDeps): void {
  for (const { base, tag, target } of BASES) {
    const p = `${base}/secrets`;
    const name = (c: Context<AppEnv>) => c.req.param("name") ?? "";

    routes.add(
      { method: "get", path: p, summary: "List secret names with the scope each comes from (never values)", tag, serviceScope: "secrets:read", response: listAnswer },
      async (c, { principal }) => c.json({ secrets: await secrets.list(principal, target(c)) }),
    );

    routes.add(
      {
        method: "post",
        path: p,
        summary: "Set a secret (a new version); any JSON value, optionally bound to hosts (a new binding alone is a new version too)",
        tag,
        serviceScope: "secrets:write",
        body: setBody,
        status: 201,
        response: writeAnswer,
      },
      async (c, { body, principal }) => {
        const options = body.bound_hosts === undefined ? {} : { boundHosts: body.bound_hosts };
        const { created, ...result } = await secrets.set(principal, target(c), body.name, body.value, options);
        return c.json(result, created ? 201 : 200);
      },
    );

    routes.add(
      { method: "get", path: `${p}/:name`, summary: "Secret metadata with a masked preview", tag, serviceScope: "secrets:read", response: metadataAnswer },
      async (c, { principal }) => c.json(await secrets.describe(principal, target(c), name(c))),
    );

    routes.add(
      { method: "post", path: `${p}/:name/reveal`, summary: "Reveal a secret's value (audited)", tag, serviceScope: "secrets:reveal", response: revealAnswer },
      async (c, { principal }) => {
        const hit = await secrets.reveal(principal, target(c), name(c));
        c.header("Cache-Control", "no-store");
        return c.json({ name: name(c), value: hit.value, scope: hit.scope, version: hit.version, bound_hosts: hit.boundHosts });
      },
    );

    routes.add(
      { method: "get", path: `${p}/:name/versions`, summary: "List a secret's versions (metadata only)", tag, serviceScope: "secrets:read", response: versionsAnswer },
      async (c, { principal }) => c.json({ versions: await secrets.versions(principal, target(c), name(c)) }),
    );

    routes.add(
      { method: "post", path: `${p}/:name/rollback`, summary: "Roll back to a version's value and binding (as a new version)", tag, serviceScope: "secrets:write", body: rollbackBody, response: rollbackAnswer },
      async (c, { body, principal }) => c.json(await secrets.rollback(principal, target(c), name(c), body.version)),
    );

    routes.add(
      { method: "delete", path: `${p}/:name`, summary: "Delete a secret and its versions", tag, serviceScope: "secrets:write", status: 204 },
      async (c, { principal }) => {
        await secrets.remove(principal, target(c), name(c));
        return c.body(null, 204);
      },
    );

    routes.add(
      { method: "post", path: `${base}/secret-imports`, summary: "Import a dotenv file (text body, at most 5,000 names; 413 beyond); ?dry_run=true previews (would_set for existing names without secrets:reveal)", tag, serviceScope: "secrets:write", query: importQuery },
      async (c, { query, principal }) => {
        if (/json/i.test(c.req.header("content-type") ?? "")) {
          return c.json(errorBody("invalid_input", "send the dotenv file as text (Content-Type: text/plain)"), 400);
        }
        const dryRun = query.dry_run === "true" || query.dry_run === "1";
        return c.json(await secrets.importDotenv(principal, target(c), await c.req.text(), dryRun));
      },
    );

    routes.add(
      { method: "get", path: `${base}/audit`, summary: "Audit rows, newest first (filters: action, name; paging: before, limit)", tag, serviceScope: "secrets:read", query: auditQuery },
      async (c, { query, principal }) => c.json({ audit: (await secrets.audit(principal, target(c), query)).map(auditJson) }),
    );
  }
}
