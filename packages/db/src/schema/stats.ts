import { bigint, index, integer, pgTable, text, unique } from "drizzle-orm/pg-core";
import { timestamptz } from "./columns.ts";
import { apps } from "./tenancy.ts";

/**
 * The outbox as it stood once a minute, for the stats API's queue series:
 * the outbox keeps no history (a row goes when its event ends), so depth
 * over time can only be sampled. One row per app with events waiting, plus
 * one row with a null `app_id` per minute sampled: the instance's totals,
 * and the mark that the minute was sampled at all (an app without a row in
 * a sampled minute had an empty queue; a minute without the mark is
 * unknown). Workers sample every few seconds and keep each minute's
 * highest figures, so a burst between two samples of a minute still shows;
 * a worker skips its sample when another took one moments ago
 * (`sampled_at`), so more workers do not mean more scans of the outbox.
 */
export const queueSamples = pgTable(
  "queue_samples",
  {
    appId: text("app_id").references(() => apps.id, { onDelete: "cascade" }),
    minute: timestamptz("minute").notNull(),
    /** Every outbox row: due, running, and retries scheduled later (the minute's highest sample, as are the next three). */
    depth: integer("depth").notNull(),
    /** Due and not held by a live lease. */
    due: integer("due").notNull(),
    /** Held by a live lease (a worker is running it). */
    running: integer("running").notNull(),
    /** How long the oldest due event had been due, in ms; null when nothing was due. */
    oldestDueMs: bigint("oldest_due_ms", { mode: "number" }),
    /** When the latest sample of this minute was taken. */
    sampledAt: timestamptz("sampled_at").notNull(),
  },
  // NULLS NOT DISTINCT: the instance row (null app) is one per minute too.
  (t) => [unique("queue_samples_app_minute").on(t.appId, t.minute).nullsNotDistinct(), index("queue_samples_minute").on(t.minute)],
);

/**
 * Inbound requests per app, channel and minute: accepted (a 2xx answer) and
 * refused (any other). Refusals leave no other durable trace, so each API
 * process counts in memory and adds its counts here every few seconds in one
 * upsert; never a row per request. A refusal for a trigger id that names
 * nothing has no app: its row has a null `app_id` and only the
 * instance-wide view of an unlimited token counts it.
 */
export const inboundMinutes = pgTable(
  "inbound_minutes",
  {
    appId: text("app_id").references(() => apps.id, { onDelete: "cascade" }),
    /** `email` (the inbound email webhook and the SMTP listener) or `http` (http triggers). */
    channel: text("channel", { enum: ["email", "http"] }).notNull(),
    minute: timestamptz("minute").notNull(),
    accepted: integer("accepted").notNull().default(0),
    refused: integer("refused").notNull().default(0),
  },
  (t) => [unique("inbound_minutes_key").on(t.appId, t.minute, t.channel).nullsNotDistinct(), index("inbound_minutes_minute").on(t.minute)],
);
