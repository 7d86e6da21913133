import { createStatsService, STATS_WINDOWS } from "@switchyard/core";
import { z } from "zod";
import type { ManagerDeps } from "../env.ts";
import type { RouteRegistry } from "./registry.ts";

const windowQuery = z.strictObject({ window: z.enum(STATS_WINDOWS).default("1h") });

const counts = z.array(z.number().int());
const gaps = z.array(z.number().nullable());
const accepted = z.object({ accepted: counts, refused: counts });
/** The answer's shape, for the OpenAPI document. */
const statsAnswer = z.object({
  app_id: z.string().nullable(),
  workspace_id: z.string().nullable(),
  window: z.enum(STATS_WINDOWS),
  bucket_seconds: z.number().int(),
  from: z.string(),
  to: z.string(),
  buckets: z.array(z.string()),
  runs: z.object({ ok: counts, error: counts, timeout: counts, oom: counts }),
  duration_ms: z.object({ p50: gaps, p95: gaps }),
  queue: z.object({ depth: gaps, due: gaps, running: gaps, oldest_due_seconds: gaps }),
  dead_letters: counts,
  mail: z.object({ sent: counts, captured: counts, failed: counts }),
  inbound: z.object({ email: accepted, http: accepted }),
  totals: z.object({
    runs: z.number().int(),
    failed_runs: z.number().int(),
    p50_ms: z.number().nullable(),
    p95_ms: z.number().nullable(),
    dead_letters: z.number().int(),
    mail_sent: z.number().int(),
    mail_failed: z.number().int(),
    inbound_accepted: z.number().int(),
    inbound_refused: z.number().int(),
  }),
  queue_now: z.object({ depth: z.number().int(), due: z.number().int(), running: z.number().int(), oldest_due_seconds: z.number().nullable() }),
});

/**
 * The operator's view as time series over the last hour (a point a minute)
 * or day (a point every 15 minutes): per app, and across every app the
 * token may see (a workspace token: its workspace). `runs:read` for both.
 */
export function statsRoutes(routes: RouteRegistry, deps: ManagerDeps): void {
  const stats = createStatsService({ db: deps.database.db });
  const tag = "stats";

  routes.add(
    {
      method: "get",
      path: "/api/v1/admin/apps/:appId/stats",
      summary: "Series over the last hour or day for one app: finished attempts by status, p50/p95 duration, queue depth and the oldest due event's age, dead letters, mail sent and failed, inbound email and http requests accepted and refused",
      tag,
      scope: "runs:read",
      query: windowQuery,
      response: statsAnswer,
    },
    async (c, { principal, query }) => c.json(await stats.forApp(principal, c.req.param("appId") ?? "", query.window)),
  );

  routes.add(
    {
      method: "get",
      path: "/api/v1/admin/stats",
      summary: "The same series across every app the token may see (a token limited to a workspace: that workspace's apps)",
      tag,
      scope: "runs:read",
      query: windowQuery,
      response: statsAnswer,
    },
    async (c, { principal, query }) => c.json(await stats.forInstance(principal, query.window)),
  );
}
