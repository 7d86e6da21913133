import { getApp, hasScope, publicTriggerIds, type Database } from "@switchyard/core";
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "./env.ts";

/** What a hidden trigger id reads as. */
export const HIDDEN_TRIGGER_ID = "trg_hidden";

/**
 * The id of an http or email trigger is in its public URL, and for an
 * unsigned trigger that URL is the only credential. So answers about an app
 * (runs, dead letters and their events, triggers, audit rows, kept inbound
 * mail) show those ids only to tokens that may manage triggers
 * (`triggers:write`); for any other token every occurrence of them reads
 * `trg_hidden`, wherever it sits (a field, an event's path, a script's
 * result or log). One place, so no read route can forget it.
 */
export function hideTriggerIds(database: Database): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await next();
    const principal = c.get("principal");
    if (!principal || hasScope(principal, "triggers:write")) return;
    // A stream is written as it goes; nothing streamed names a trigger today.
    if ((c.res.headers.get("content-type") ?? "").startsWith("text/event-stream")) return;
    const app = await getApp(database.db, principal, c.req.param("appId") ?? "").catch(() => null);
    if (!app) return;
    const ids = await publicTriggerIds(database.db, app.id);
    if (ids.length === 0) return;
    // Ids are ASCII, so Latin-1 maps any body (JSON, MIME, a provider's form) byte for byte.
    const text = Buffer.from(await c.res.arrayBuffer()).toString("latin1");
    const pattern = new RegExp(ids.join("|"), "g");
    // hono copies the old answer's headers onto the new one: its length must go.
    c.res.headers.delete("content-length");
    c.res = new Response(Buffer.from(text.replace(pattern, HIDDEN_TRIGGER_ID), "latin1"), { status: c.res.status, headers: c.res.headers });
  };
}
