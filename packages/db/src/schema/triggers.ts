import { boolean, jsonb, pgTable, text, uniqueIndex } from "drizzle-orm/pg-core";
import { bytea, createdAt, timestamptz } from "./columns.ts";
import type { RetryPolicy } from "./outbox.ts";
import { scripts } from "./scripts.ts";
import { apps } from "./tenancy.ts";

/**
 * What turns outside happenings into events for a script: `http`, `cron`,
 * `dead_letter` (and `email`). Ids are unguessable: public URLs carry them.
 */
export const triggers = pgTable(
  "triggers",
  {
    id: text("id").primaryKey(),
    appId: text("app_id")
      .notNull()
      .references(() => apps.id, { onDelete: "cascade" }),
    scriptId: text("script_id")
      .notNull()
      .references(() => scripts.id, { onDelete: "cascade" }),
    kind: text("kind", { enum: ["http", "cron", "dead_letter", "email", "connectivity", "secret_changed"] }).notNull(),
    name: text("name").notNull(),
    config: jsonb("config").$type<Record<string, unknown>>().notNull(),
    retry: jsonb("retry").$type<RetryPolicy>().notNull(),
    enabled: boolean("enabled").notNull().default(true),
    // An email trigger's verification secret (its Standard Webhooks `whsec_`
    // secret, or Mailgun's signing key), sealed with the app's data key.
    secretSealed: bytea("secret_sealed"),
    // The secret before the last rotation, still accepted until
    // `secret_previous_until`, so senders can switch without a gap.
    secretPreviousSealed: bytea("secret_previous_sealed"),
    secretPreviousUntil: timestamptz("secret_previous_until"),
    createdAt: createdAt(),
    updatedAt: timestamptz("updated_at").notNull().defaultNow(),
  },
  (t) => [uniqueIndex("triggers_app_name").on(t.appId, t.name)],
);

/**
 * The last tick each cron trigger fired. Firing is a compare-and-set on this
 * row in the same transaction as the enqueue, so several workers never fire
 * one tick twice, and a worker that was down fires only the latest missed tick.
 */
export const cronState = pgTable("cron_state", {
  triggerId: text("trigger_id")
    .primaryKey()
    .references(() => triggers.id, { onDelete: "cascade" }),
  lastTick: timestamptz("last_tick").notNull(),
});
