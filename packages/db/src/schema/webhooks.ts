import { boolean, index, integer, jsonb, pgTable, text } from "drizzle-orm/pg-core";
import { bytea, createdAt, timestamptz } from "./columns.ts";
import type { RetryPolicy } from "./outbox.ts";
import { workspaces } from "./tenancy.ts";

/**
 * An operator's webhook: secret change events POSTed to `url`, signed with
 * Standard Webhooks. Instance-wide when `workspace_id` is null (every scope),
 * else limited to that workspace and its apps. The `whsec_` secret is sealed
 * with the data key of the scope the webhook belongs to (global or the
 * workspace), bound to the webhook's id by its associated data.
 */
export const operatorWebhooks = pgTable(
  "operator_webhooks",
  {
    id: text("id").primaryKey(),
    url: text("url").notNull(),
    /** Event types delivered (`secret.changed`). */
    events: jsonb("events").$type<string[]>().notNull(),
    workspaceId: text("workspace_id").references(() => workspaces.id, { onDelete: "cascade" }),
    secretSealed: bytea("secret_sealed").notNull(),
    retry: jsonb("retry").$type<RetryPolicy>().notNull(),
    enabled: boolean("enabled").notNull().default(true),
    createdBy: text("created_by").notNull(),
    createdAt: createdAt(),
    updatedAt: timestamptz("updated_at").notNull().defaultNow(),
  },
  (t) => [index("operator_webhooks_workspace").on(t.workspaceId)],
);

/**
 * The webhooks' own outbox: one row per (webhook, event), written in the
 * transaction of the change it announces. Outbox rows belong to an app and a
 * script; a webhook delivery has neither, so it queues here, under the same
 * discipline: attempts, `run_at`, a fenced lease and the last error live in
 * the row. `status` is `pending` until it is `delivered` or, after its last
 * attempt, `dead_letter` (kept for inspection and redelivery).
 */
export const webhookDeliveries = pgTable(
  "webhook_deliveries",
  {
    id: text("id").primaryKey(),
    webhookId: text("webhook_id")
      .notNull()
      .references(() => operatorWebhooks.id, { onDelete: "cascade" }),
    /** The `webhook-id` header: the same on every attempt, the receiver's idempotency key. */
    messageId: text("message_id").notNull(),
    eventType: text("event_type").notNull(),
    /** The JSON body sent, `{type, timestamp, data}`. Never a secret value. */
    payload: jsonb("payload").notNull(),
    status: text("status", { enum: ["pending", "delivered", "dead_letter"] }).notNull().default("pending"),
    retry: jsonb("retry").$type<RetryPolicy>().notNull(),
    attempts: integer("attempts").notNull().default(0),
    runAt: timestamptz("run_at").notNull().defaultNow(),
    leaseToken: text("lease_token"),
    leaseUntil: timestamptz("lease_until"),
    /** `{code, message, status?}` of the last failed attempt. */
    lastError: jsonb("last_error"),
    lastStatus: integer("last_status"),
    createdAt: createdAt(),
    finishedAt: timestamptz("finished_at"),
  },
  (t) => [index("webhook_deliveries_due").on(t.status, t.runAt), index("webhook_deliveries_webhook").on(t.webhookId, t.createdAt)],
);
