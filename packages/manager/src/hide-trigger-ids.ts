import { getApp, hasScope, publicTriggerIds, type Database } from "@switchyard/core";
import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "./env.ts";

/** What a hidden trigger id reads as. */
export const HIDDEN_TRIGGER_ID = "trg_hidden";

// Any trigger id as newId spells it (Crockford base32), in any case: the SMTP
// listener lowercases the local part, so a sender may have written it upper-case.
const TRIGGER_ID = /trg_[0-9a-z]{10,}/gi;

/** Which ids a read token must not see in one answer: a set of lower-case ids, or "all". */
type Hidden = ReadonlySet<string> | "all";

/**
 * The id of an http or email trigger is in its public URL, and for an
 * unsigned trigger that URL is the only credential. So admin answers show
 * those ids only to tokens that may manage triggers (`triggers:write`); for
 * any other token every occurrence reads `trg_hidden`, wherever it sits (a
 * field, an event's path, a script's result or log, an audit row). Under an
 * app, only that app's http and email triggers are hidden (a cron trigger's id
 * opens nothing); under a workspace or global path (their audit rows name
 * triggers of many apps) every trigger id is. One place, so no read route can
 * forget it.
 */
export function hideTriggerIds(database: Database): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await next();
    const principal = c.get("principal");
    if (!principal || hasScope(principal, "triggers:write")) return;
    // Nothing to rewrite: 204/304 and bodiless answers (a Response with a body and status 204 is an error).
    if (c.res.body === null || c.res.status === 204 || c.res.status === 304) return;
    // A stream is written as it goes: its route masks each event with maskAllTriggerIds.
    if ((c.res.headers.get("content-type") ?? "").startsWith("text/event-stream")) return;
    const hidden = await hiddenIds(c, database);
    if (hidden !== "all" && hidden.size === 0) return;
    // Ids are ASCII, so Latin-1 maps any body (JSON, MIME, a provider's form) byte for byte.
    const text = Buffer.from(await c.res.arrayBuffer()).toString("latin1");
    const replaced = text.replace(TRIGGER_ID, (id) => (hidden === "all" || hidden.has(id.toLowerCase()) ? HIDDEN_TRIGGER_ID : id));
    // hono copies the old answer's headers onto the new one: its length must go.
    c.res.headers.delete("content-length");
    c.res = new Response(Buffer.from(replaced, "latin1"), { status: c.res.status, headers: c.res.headers });
  };
}

/**
 * For a stream, which cannot be rewritten after the fact: every trigger id
 * in `text` reads `trg_hidden` (triggers made while the stream is open are
 * hidden too), unless the token may manage triggers.
 */
export function maskAllTriggerIds(principal: Parameters<typeof hasScope>[0]): (text: string) => string {
  if (hasScope(principal, "triggers:write")) return (text) => text;
  return (text) => text.replace(TRIGGER_ID, HIDDEN_TRIGGER_ID);
}

async function hiddenIds(c: Context<AppEnv>, database: Database): Promise<Hidden> {
  const appId = c.req.param("appId");
  if (appId === undefined) return "all";
  const app = await getApp(database.db, c.get("principal"), appId).catch(() => null);
  if (!app) return new Set();
  return new Set((await publicTriggerIds(database.db, app.id)).map((id) => id.toLowerCase()));
}
