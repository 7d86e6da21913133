import {
  DEAD_LETTER_PAGE_MAX,
  deleteDeadLetter,
  getDeadLetter,
  listDeadLetters,
  replayDeadLetter,
  replayDeadLetters,
  type DeadLetter,
} from "@switchyard/core";
import type { Context } from "hono";
import { z } from "zod";
import type { AppEnv, ManagerDeps } from "../env.ts";
import type { RouteRegistry } from "./registry.ts";

const filter = {
  script_id: z.string().optional(),
  trigger_id: z.string().optional(),
  kind: z.string().max(64).optional(),
};
const listQuery = z.strictObject({
  ...filter,
  before: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(DEAD_LETTER_PAGE_MAX).optional(),
});
const replayManyBody = z.strictObject(filter);

const deadLetterJson = (d: DeadLetter, full: boolean) => ({
  id: d.id,
  app_id: d.appId,
  event_id: d.eventId,
  script_id: d.scriptId,
  trigger_id: d.triggerId,
  kind: d.kind,
  ...(full ? { event: d.event, retry: d.retry } : {}),
  attempts: d.attempts,
  last_error: d.lastError,
  depth: d.depth,
  first_attempt_at: d.firstAttemptAt,
  last_attempt_at: d.lastAttemptAt,
  created_at: d.createdAt,
});

/** Dead letters: inspect, replay (one or many), drop. */
export function deadLetterRoutes(routes: RouteRegistry, { database }: ManagerDeps): void {
  const base = "/api/v1/admin/apps/:appId/dead-letters";
  const tag = "dead letters";
  const appId = (c: Context<AppEnv>) => c.req.param("appId") ?? "";
  const deadLetterId = (c: Context<AppEnv>) => c.req.param("deadLetterId") ?? "";

  routes.add(
    { method: "get", path: base, summary: "List dead letters, newest first (filters: script_id, trigger_id, kind; paging: before, limit)", tag, scope: "runs:read", query: listQuery },
    async (c, { query, principal }) => {
      const rows = await listDeadLetters(database.db, principal, appId(c), {
        scriptId: query.script_id,
        triggerId: query.trigger_id,
        kind: query.kind,
        before: query.before,
        limit: query.limit,
      });
      return c.json({ dead_letters: rows.map((d) => deadLetterJson(d, false)) });
    },
  );

  // `.../replay` has one segment after the collection and `.../{id}/replay`
  // two, so neither route can take the other's requests, in either order.
  routes.add(
    { method: "post", path: `${base}/replay`, summary: "Replay the dead letters matching a filter, oldest first, up to 1000 a call", tag, scope: "scripts:write", body: replayManyBody, status: 202 },
    async (c, { body, principal }) =>
      c.json(await replayDeadLetters(database.db, principal, appId(c), { scriptId: body.script_id, triggerId: body.trigger_id, kind: body.kind }), 202),
  );

  routes.add(
    { method: "get", path: `${base}/:deadLetterId`, summary: "Show a dead letter with the failed event whole", tag, scope: "runs:read" },
    async (c, { principal }) => c.json(deadLetterJson(await getDeadLetter(database.db, principal, appId(c), deadLetterId(c)), true)),
  );

  routes.add(
    { method: "post", path: `${base}/:deadLetterId/replay`, summary: "Replay a dead letter as a new event (ctx.run.replay is true); the dead letter goes", tag, scope: "scripts:write", status: 202 },
    async (c, { principal }) => c.json(await replayDeadLetter(database.db, principal, appId(c), deadLetterId(c)), 202),
  );

  routes.add(
    { method: "delete", path: `${base}/:deadLetterId`, summary: "Drop a dead letter (audited)", tag, scope: "scripts:write", status: 204 },
    async (c, { principal }) => {
      await deleteDeadLetter(database.db, principal, appId(c), deadLetterId(c));
      return c.body(null, 204);
    },
  );
}
