import { enqueue, getTriggerById, type HttpConfig } from "@switchyard/core";
import type { ManagerDeps } from "../env.ts";
import { errorBody } from "../http-errors.ts";
import type { RouteRegistry } from "./registry.ts";

// Credentials a caller sent to us are not handed on to scripts or stored with the event.
const DROPPED_HEADERS = new Set(["authorization", "cookie", "proxy-authorization"]);

/**
 * `POST /api/v1/hooks/{triggerId}`: an http trigger's public endpoint. The
 * event is enqueued durably before the 202. An unknown, disabled or non-http
 * trigger is a 404, all alike.
 */
export function hookRoutes(routes: RouteRegistry, { database }: ManagerDeps): void {
  routes.add(
    { method: "post", path: "/api/v1/hooks/:triggerId", summary: "Deliver an event to an http trigger", tag: "public", public: true, status: 202 },
    async (c) => {
      const trigger = await getTriggerById(database.db, c.req.param("triggerId") ?? "");
      if (!trigger || trigger.kind !== "http" || !trigger.enabled) {
        return c.json(errorBody("not_found", "no such trigger"), 404);
      }
      const limit = (trigger.config as HttpConfig).max_body_bytes;
      const declared = Number(c.req.header("content-length") ?? "0");
      if (declared > limit) return c.json(errorBody("too_large", `the body exceeds ${limit} bytes`, { limit, size: declared }), 413);
      const raw = await c.req.text();
      const size = Buffer.byteLength(raw, "utf8");
      if (size > limit) return c.json(errorBody("too_large", `the body exceeds ${limit} bytes`, { limit, size }), 413);
      let body: unknown = raw;
      if (/json/i.test(c.req.header("content-type") ?? "") && raw.length > 0) {
        try {
          body = JSON.parse(raw);
        } catch {
          return c.json(errorBody("invalid_input", "the body is not valid JSON"), 400);
        }
      }
      const headers: Record<string, string> = {};
      for (const [key, value] of Object.entries(c.req.header())) if (!DROPPED_HEADERS.has(key)) headers[key] = value;
      const url = new URL(c.req.url);
      const eventId = await database.db.transaction((tx) =>
        enqueue(tx, {
          appId: trigger.appId,
          scriptId: trigger.scriptId,
          triggerId: trigger.id,
          kind: "http",
          event: { kind: "http", http: { method: c.req.method, path: url.pathname, query: Object.fromEntries(url.searchParams), headers, body } },
          retry: trigger.retry,
          origin: `http:${trigger.id}`,
        }),
      );
      return c.json({ event_id: eventId }, 202);
    },
  );
}
