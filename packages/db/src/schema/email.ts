import { index, integer, jsonb, pgTable, text, uniqueIndex } from "drizzle-orm/pg-core";
import { bytea, createdAt } from "./columns.ts";
import { apps } from "./tenancy.ts";
import { triggers } from "./triggers.ts";

/**
 * Every message a script sent (or, in dev without SMTP, captured): the send
 * log the API and dashboard show. Captured mail keeps its bodies so it can be
 * read; sent mail keeps only its envelope and outcome.
 */
export const emailMessages = pgTable(
  "email_messages",
  {
    id: text("id").primaryKey(),
    appId: text("app_id")
      .notNull()
      .references(() => apps.id, { onDelete: "cascade" }),
    runId: text("run_id"),
    scriptId: text("script_id"),
    status: text("status", { enum: ["sent", "captured", "failed"] }).notNull(),
    fromAddress: text("from_address").notNull(),
    to: jsonb("to").$type<string[]>().notNull(),
    cc: jsonb("cc").$type<string[]>().notNull(),
    bcc: jsonb("bcc").$type<string[]>().notNull(),
    subject: text("subject").notNull(),
    messageId: text("message_id"),
    accepted: jsonb("accepted").$type<string[]>().notNull(),
    rejected: jsonb("rejected").$type<string[]>().notNull(),
    error: jsonb("error").$type<{ code: string; message: string } | null>(),
    size: integer("size").notNull(),
    body: jsonb("body").$type<{ text: string; html: string | null } | null>(),
    // Names one send of one event (event id, the message, its ordinal in the
    // run): a retried run that sends the same message again gets the first
    // send's answer instead of a second copy.
    idempotencyKey: text("idempotency_key"),
    createdAt: createdAt(),
  },
  (t) => [index("email_messages_app").on(t.appId, t.createdAt), uniqueIndex("email_messages_idempotency").on(t.appId, t.idempotencyKey)],
);

/**
 * What an email trigger has already accepted, one row per accepted message,
 * so a repeat is recognised: `delivery_key` is the Standard Webhooks
 * `webhook-id` or Mailgun's token (a repeat is a replay, refused), and
 * `message_id` the mail's Message-ID (a repeat is the same mail delivered
 * twice, answered as a duplicate). One row with two unique keys costs the
 * accept path one insert.
 */
export const inboundSeen = pgTable(
  "inbound_seen",
  {
    triggerId: text("trigger_id")
      .notNull()
      .references(() => triggers.id, { onDelete: "cascade" }),
    deliveryKey: text("delivery_key"),
    messageId: text("message_id"),
    createdAt: createdAt(),
  },
  // BRIN on created_at: the hourly prune finds old rows without a b-tree to
  // maintain on every accept (rows arrive in time order).
  (t) => [
    uniqueIndex("inbound_seen_delivery").on(t.triggerId, t.deliveryKey),
    uniqueIndex("inbound_seen_message").on(t.triggerId, t.messageId),
    index("inbound_seen_created").using("brin", t.createdAt),
  ],
);

/**
 * The raw message of each accepted inbound email (the MIME source, or the
 * provider's request body when it sent no MIME), capped, so a dead-lettered
 * email can be inspected and replayed whole. The event names it by `raw_id`.
 */
export const inboundEmails = pgTable(
  "inbound_emails",
  {
    id: text("id").primaryKey(),
    appId: text("app_id")
      .notNull()
      .references(() => apps.id, { onDelete: "cascade" }),
    triggerId: text("trigger_id").notNull(),
    provider: text("provider").notNull(),
    contentType: text("content_type").notNull(),
    raw: bytea("raw").notNull(),
    size: integer("size").notNull(),
    createdAt: createdAt(),
  },
  (t) => [index("inbound_emails_app").on(t.appId, t.createdAt)],
);
