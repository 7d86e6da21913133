import { getRun, listRuns, type Run, type Script } from "@switchyard/core";
import { z } from "zod";
import type { ManagerDeps } from "../env.ts";
import type { RouteRegistry } from "./registry.ts";
import { jsonValue } from "./schemas.ts";

const scriptName = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, "use 1-63 lower-case letters, digits, '-' and '_'");
const limits = z.strictObject({
  memory_mb: z.number().int().min(8).optional(),
  cpu_ms: z.number().int().min(1).optional(),
  wall_ms: z.number().int().min(1).optional(),
});
const deployBody = z.strictObject({
  name: scriptName,
  source: z.string(),
  language: z.enum(["js", "ts"]).default("js"),
  limits: limits.optional(),
  fresh_context: z.boolean().optional(),
});
// PUT takes POST's body (the full representation); a field left out stays as it was.
const redeployBody = z.strictObject({
  name: scriptName.optional(),
  source: z.string().optional(),
  language: z.enum(["js", "ts"]).optional(),
  limits: limits.optional(),
  fresh_context: z.boolean().optional(),
});
const invokeBody = z.strictObject({ payload: jsonValue.optional() });
const runsQuery = z.strictObject({
  status: z.enum(["running", "ok", "error", "timeout", "oom"]).optional(),
  script_id: z.string().optional(),
  trigger_id: z.string().optional(),
  event_id: z.string().optional(),
  before: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(200).optional(),
});

const scriptJson = (s: Script, withSource: boolean) => ({
  id: s.id,
  app_id: s.appId,
  name: s.name,
  version: s.version,
  language: s.language,
  limits: s.limits,
  fresh_context: s.freshContext,
  // The current version stopped the engine: its events are dead-lettered without running until a new deploy.
  quarantine: s.crashedVersion !== null && s.crashedVersion === s.version ? { version: s.crashedVersion, crashed_at: s.crashedAt, run_id: s.crashedRunId } : null,
  created_at: s.createdAt,
  updated_at: s.updatedAt,
  ...(withSource ? { source: s.source } : {}),
});

/** A run as the API shows it; `full` adds its logs and result (one run, and the live tail). */
export const runJson = (r: Run, full: boolean) => ({
  id: r.id,
  app_id: r.appId,
  script_id: r.scriptId,
  script_version: r.scriptVersion,
  trigger_id: r.triggerId,
  event_id: r.eventId,
  event_kind: r.eventKind,
  attempt: r.attempt,
  status: r.status,
  started_at: r.startedAt,
  finished_at: r.finishedAt,
  duration_ms: r.durationMs,
  cpu_ms: r.cpuMs,
  // Bounded by the subrequest limit, and small: listed too.
  subrequests: r.subrequests,
  ...(full ? { logs: r.logs, logs_truncated: r.logsTruncated, result: r.result, error: r.error } : { error: r.error }),
});

/** Scripts, manual invocation and runs. */
export function scriptRoutes(routes: RouteRegistry, { database, scripts, invoker }: ManagerDeps): void {
  const base = "/api/v1/admin/apps/:appId/scripts";
  const appId = (c: { req: { param(name: string): string | undefined } }) => c.req.param("appId") ?? "";
  const scriptId = (c: { req: { param(name: string): string | undefined } }) => c.req.param("scriptId") ?? "";

  routes.add(
    { method: "post", path: base, summary: "Deploy a script (JS or TS); 422 with diagnostics when it does not compile", tag: "scripts", scope: "scripts:write", body: deployBody, status: 201 },
    async (c, { body, principal }) => {
      const script = await scripts.deploy(principal, appId(c), {
        name: body.name,
        source: body.source,
        language: body.language,
        limits: body.limits,
        freshContext: body.fresh_context,
      });
      return c.json(scriptJson(script, true), 201);
    },
  );

  routes.add(
    { method: "put", path: `${base}/:scriptId`, summary: "Redeploy a script (a new version) with POST's body; a changed name renames it (409 when another script has it)", tag: "scripts", scope: "scripts:write", body: redeployBody },
    async (c, { body, principal }) => {
      const script = await scripts.redeploy(principal, appId(c), scriptId(c), {
        name: body.name,
        source: body.source,
        language: body.language,
        limits: body.limits,
        freshContext: body.fresh_context,
      });
      return c.json(scriptJson(script, true));
    },
  );

  routes.add({ method: "get", path: base, summary: "List scripts", tag: "scripts", scope: "scripts:read" }, async (c, { principal }) =>
    c.json({ scripts: (await scripts.list(principal, appId(c))).map((s) => scriptJson(s, false)) }),
  );

  routes.add(
    { method: "get", path: `${base}/:scriptId`, summary: "Show a script with its source", tag: "scripts", scope: "scripts:read" },
    async (c, { principal }) => c.json(scriptJson(await scripts.get(principal, appId(c), scriptId(c)), true)),
  );

  routes.add(
    { method: "delete", path: `${base}/:scriptId`, summary: "Delete a script (its runs stay)", tag: "scripts", scope: "scripts:write", status: 204 },
    async (c, { principal }) => {
      await scripts.remove(principal, appId(c), scriptId(c));
      return c.body(null, 204);
    },
  );

  routes.add(
    { method: "post", path: `${base}/:scriptId/invoke`, summary: "Run a script with a manual event", tag: "scripts", scope: "scripts:write", body: invokeBody, status: 202 },
    async (c, { body, principal }) => c.json(await invoker.invoke(principal, appId(c), scriptId(c), body.payload ?? null), 202),
  );

  routes.add(
    { method: "get", path: "/api/v1/admin/apps/:appId/runs", summary: "List runs, newest first (filters: status, script_id, trigger_id, event_id)", tag: "runs", scope: "runs:read", query: runsQuery },
    async (c, { query, principal }) => {
      const rows = await listRuns(database.db, principal, appId(c), {
        status: query.status,
        scriptId: query.script_id,
        triggerId: query.trigger_id,
        eventId: query.event_id,
        before: query.before,
        limit: query.limit,
      });
      return c.json({ runs: rows.map((r) => runJson(r, false)) });
    },
  );

  routes.add(
    { method: "get", path: "/api/v1/admin/apps/:appId/runs/:runId", summary: "Show a run with its redacted logs, result and error", tag: "runs", scope: "runs:read" },
    async (c, { principal }) => c.json(runJson(await getRun(database.db, principal, appId(c), c.req.param("runId") ?? ""), true)),
  );
}
