import { createRunFeed, cursorAfterRun, getApp, type RunFeed } from "@switchyard/core";
import { streamSSE } from "hono/streaming";
import { z } from "zod";
import type { ManagerDeps } from "../env.ts";
import { maskAllTriggerIds } from "../hide-trigger-ids.ts";
import type { RouteRegistry } from "./registry.ts";
import { runJson } from "./scripts.ts";

/** The path of an app's live tail; registered before `runs/:runId`, which would take `stream` for a run id. */
export const RUNS_STREAM_PATH = "/api/v1/admin/apps/:appId/runs/stream";

/** A comment line this often keeps proxies and load balancers from closing a quiet stream. */
const HEARTBEAT_MS = 15_000;
/** What a browser's EventSource waits before reconnecting (with Last-Event-ID). */
const RECONNECT_MS = 2_000;

const streamQuery = z.strictObject({
  // For clients that cannot set a header (curl users, a resumed fetch): the header wins when both are given.
  last_event_id: z.string().min(1).max(100).optional(),
});

export interface RunStreamOptions {
  /** The process's feed (the composition root closes it at shutdown); one of its own when absent. */
  feed?: RunFeed;
  heartbeatMs?: number;
}

/**
 * `GET /api/v1/admin/apps/{appId}/runs/stream`: Server-Sent Events, one
 * `run` event per finished run (the body of `GET .../runs/{runId}`, with
 * its redacted logs, result and error), `id:` the run id. `Last-Event-ID`
 * (or `?last_event_id=`) replays the runs finished after that run, then
 * goes on live. Every error before the stream starts has API.md's shape:
 * 404 unknown app, 400 invalid_cursor, 503 overloaded past the per-process
 * cap of streams.
 *
 * @example
 * curl -N -H "Authorization: Bearer $SWITCHYARD_TOKEN" $SWITCHYARD_URL/api/v1/admin/apps/billing/runs/stream
 */
export function runStreamRoutes(routes: RouteRegistry, { database, logger }: ManagerDeps, options: RunStreamOptions = {}): RunFeed {
  const feed = options.feed ?? createRunFeed({ db: database.db, logger });
  const heartbeatMs = options.heartbeatMs ?? HEARTBEAT_MS;

  routes.add(
    {
      method: "get",
      path: RUNS_STREAM_PATH,
      summary: "Stream the app's runs as they finish (Server-Sent Events, one `run` event each with its id; resumable with Last-Event-ID)",
      tag: "runs",
      scope: "runs:read",
      query: streamQuery,
    },
    async (c, { principal, query }) => {
      const app = await getApp(database.db, principal, c.req.param("appId") ?? "");
      const lastEventId = c.req.header("last-event-id") || query.last_event_id;
      const cursor = lastEventId ? await cursorAfterRun(database.db, app.id, lastEventId) : null;
      // An unsigned trigger's id is its credential (hide-trigger-ids.ts): a token that may not manage triggers never reads one here.
      const mask = maskAllTriggerIds(principal);
      // A workspace's tokens share its places; a token of the whole instance has its own.
      const holder = principal.type === "token" ? (principal.workspaceId ? `workspace:${principal.workspaceId}` : `token:${principal.id}`) : principal.type;
      const subscription = await feed.subscribe(app.id, cursor, holder);
      // Buffering proxies (nginx) would hold events back until a buffer fills.
      c.header("X-Accel-Buffering", "no");
      return streamSSE(c, async (stream) => {
        stream.onAbort(() => subscription.close());
        const heartbeat = setInterval(() => void stream.write(": keep-alive\n\n"), heartbeatMs);
        try {
          await stream.write(`retry: ${RECONNECT_MS}\n: connected\n\n`);
          for (let batch = await subscription.next(); batch; batch = await subscription.next()) {
            for (const run of batch) await stream.writeSSE({ id: run.id, event: "run", data: mask(JSON.stringify(runJson(run, true))) });
          }
        } catch (error) {
          // The database failed under an open stream. The client reconnects
          // with Last-Event-ID and loses nothing; the cause stays in the log.
          logger.error({ err: error, appId: app.id }, "runs stream failed");
          await stream.writeSSE({ event: "error", data: JSON.stringify({ error: { code: "internal", message: "the stream failed; reconnect to resume" } }) });
        } finally {
          clearInterval(heartbeat);
          subscription.close();
        }
      });
    },
  );
  return feed;
}
