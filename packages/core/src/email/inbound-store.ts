import { and, eq, sql } from "drizzle-orm";
import { inboundEmails, inboundSeen, resultRows, type Db, type RetryPolicy } from "@switchyard/db";
import { newId } from "../ids.ts";
import { NotFoundError } from "../errors.ts";
import { executePrepared } from "../outbox/prepared.ts";
import { OUTBOX_CHANNEL } from "../outbox/queue.ts";
import { requireScope, type Principal } from "../principal.ts";
import { getApp } from "../tenancy.ts";

export interface InboundAccept {
  trigger: { id: string; appId: string; scriptId: string; retry: RetryPolicy; updatedAt: Date };
  provider: string;
  /** API.md's normalized `email` payload. */
  email: Record<string, unknown>;
  /**
   * What the message arrived as, kept for inspection and replay; null when
   * the event already holds all of it (generic JSON).
   */
  raw: { contentType: string; bytes: Buffer } | null;
  /** Standard Webhooks `webhook-id`: refused when seen before on the trigger. */
  webhookId: string | null;
  /** Mailgun's signature token: refused when seen before on the trigger. */
  mailgunToken: string | null;
  /** The mail's Message-ID: a repeat is answered as a duplicate and fires nothing. */
  messageId: string | null;
}

export type InboundOutcome =
  | { status: "accepted"; eventId: string; rawId: string | null }
  | { status: "duplicate" }
  | { status: "replayed" }
  /** The trigger changed, was disabled or deleted since the caller read it. */
  | { status: "trigger_changed" };

/**
 * Accepts one inbound email in ONE statement (one round trip, one commit):
 * it records the webhook id / Mailgun token and Message-ID as seen (one
 * row), keeps the raw message, and enqueues the `email` event with its
 * NOTIFY — all only if the trigger is still as the caller verified it (same
 * `updated_at`, still enabled) and nothing was a repeat. Concurrent repeats
 * serialize on `inbound_seen`'s unique keys, so exactly one of them fires.
 */
export async function acceptInbound(db: Db, input: InboundAccept): Promise<InboundOutcome> {
  const eventId = newId("evt");
  const { trigger, raw } = input;
  const rawId = raw ? newId("inb") : null;
  const event = { kind: "email", email: { ...input.email, raw_id: rawId } };
  // Mailgun tokens and webhook ids share the column; a prefix keeps them apart.
  const deliveryKey = input.webhookId !== null ? `wh:${input.webhookId}` : input.mailgunToken !== null ? `mg:${input.mailgunToken}` : null;
  // Prepared: this statement is planned once per connection, not per email.
  const result = await executePrepared(db, raw ? "inbound_accept_raw" : "inbound_accept", sql`
    with t as (
      select id from triggers
      where id = ${trigger.id} and enabled and kind = 'email'
        -- The caller's copy holds milliseconds; the column holds microseconds.
        and date_trunc('milliseconds', updated_at) = ${trigger.updatedAt.toISOString()}::timestamptz
    ),
    seen as (
      insert into inbound_seen (trigger_id, delivery_key, message_id)
      select ${trigger.id}, ${deliveryKey}::text, ${input.messageId}::text from t
      where ${deliveryKey}::text is not null or ${input.messageId}::text is not null
      on conflict do nothing returning 1
    ),
    go as (
      select 1 from t where (${deliveryKey}::text is null and ${input.messageId}::text is null) or exists (select 1 from seen)
    ),
    ${raw ? sql`r as (
      insert into inbound_emails (id, app_id, trigger_id, provider, content_type, raw, size)
      select ${rawId}, ${trigger.appId}, ${trigger.id}, ${input.provider}, ${raw.contentType}, ${raw.bytes}, ${raw.bytes.length}::int from go
      returning 1
    ),` : sql``}
    o as (
      insert into outbox (id, app_id, script_id, trigger_id, kind, event, retry, depth, origin)
      select ${eventId}, ${trigger.appId}, ${trigger.scriptId}, ${trigger.id}, 'email', ${JSON.stringify(event)}::jsonb,
             ${JSON.stringify(trigger.retry)}::jsonb, 0, ${`email:${trigger.id}`} from go
      returning id
    )
    select
      (select count(*) from t)::int as trigger_ok,
      (select count(*) from o)::int as fired,
      case when exists (select 1 from o) then pg_notify(${OUTBOX_CHANNEL}, '') end as notified
  `);
  const [row] = resultRows<{ trigger_ok: number; fired: number }>(result);
  if (!row || row.trigger_ok === 0) return { status: "trigger_changed" };
  if (row.fired > 0) return { status: "accepted", eventId, rawId };
  // A conflict (the rare path): a delivery key seen before is a replay,
  // otherwise the Message-ID was.
  if (deliveryKey === null) return { status: "duplicate" };
  const [replay] = await db
    .select({ one: sql<number>`1` })
    .from(inboundSeen)
    .where(and(eq(inboundSeen.triggerId, trigger.id), eq(inboundSeen.deliveryKey, deliveryKey)));
  return replay ? { status: "replayed" } : { status: "duplicate" };
}

/** The raw message an inbound email event names by `raw_id` (runs:read). */
export async function getInboundRaw(db: Db, principal: Principal, appRef: string, rawId: string) {
  requireScope(principal, "runs:read");
  const app = await getApp(db, principal, appRef);
  const [row] = await db
    .select()
    .from(inboundEmails)
    .where(and(eq(inboundEmails.appId, app.id), eq(inboundEmails.id, rawId)));
  if (!row) throw new NotFoundError("inbound email", rawId);
  return row;
}

/** How long an accepted email's webhook id and Message-ID are remembered. */
export const INBOUND_SEEN_DAYS = 30;

/**
 * Forgets what email triggers accepted more than `days` ago. A replayed
 * `webhook-id` is refused by its timestamp long before (5 minutes); a
 * Message-ID redelivered after a month fires again. Answers the rows removed.
 */
export async function pruneInboundSeen(db: Db, days = INBOUND_SEEN_DAYS): Promise<number> {
  const [row] = resultRows<{ removed: number }>(
    await db.execute(sql`
      with gone as (delete from inbound_seen where created_at < now() - make_interval(days => ${days}) returning 1)
      select count(*)::int as removed from gone`),
  );
  return row?.removed ?? 0;
}
