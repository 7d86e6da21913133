import { sql } from "drizzle-orm";
import { index, integer, jsonb, pgTable, text } from "drizzle-orm/pg-core";
import { createdAt, timestamptz } from "./columns.ts";
import { apps } from "./tenancy.ts";

/** A trigger's retry policy as stored (API.md's `retry`). */
export interface RetryPolicy {
  max_attempts: number;
  backoff: "exponential" | "fixed";
  base_ms: number;
}

/**
 * Pending work: one row per event to run, written in the same transaction as
 * whatever caused it. Queue state lives in the row (attempts, run_at, lease),
 * never in a worker's memory; a row is deleted when its event reaches a
 * terminal state (the `runs` rows keep the history).
 */
export const outbox = pgTable(
  "outbox",
  {
    // The event id: scripts see it as ctx.run.event_id, their idempotency key.
    id: text("id").primaryKey(),
    appId: text("app_id")
      .notNull()
      .references(() => apps.id, { onDelete: "cascade" }),
    scriptId: text("script_id").notNull(),
    triggerId: text("trigger_id"),
    kind: text("kind").notNull(),
    event: jsonb("event").notNull(),
    retry: jsonb("retry").$type<RetryPolicy>().notNull(),
    // Claims so far; the claim that runs attempt N sets it to N.
    attempts: integer("attempts").notNull().default(0),
    runAt: timestamptz("run_at").notNull().defaultNow(),
    // Fencing: a completion must present the token of the claim it holds.
    leaseToken: text("lease_token"),
    leaseUntil: timestamptz("lease_until"),
    depth: integer("depth").notNull().default(0),
    origin: text("origin").notNull(),
    replayOf: text("replay_of"),
    lastError: jsonb("last_error"),
    firstAttemptAt: timestamptz("first_attempt_at"),
    createdAt: createdAt(),
  },
  (t) => [
    index("outbox_due").on(t.runAt),
    // Fair claims walk the apps with due work in id order, and take each
    // app's oldest due rows in (run_at, id) order without a sort (queue.ts):
    // both read this index.
    index("outbox_app_due").on(t.appId, t.runAt, t.id),
    // Rows some worker holds, per app: what counts against concurrency caps.
    index("outbox_app_leased").on(t.appId).where(sql`lease_until is not null`),
  ],
);

/** Events that exhausted their attempts (or failed for good), kept whole for inspection and replay. */
export const deadLetters = pgTable(
  "dead_letters",
  {
    id: text("id").primaryKey(),
    appId: text("app_id")
      .notNull()
      .references(() => apps.id, { onDelete: "cascade" }),
    eventId: text("event_id").notNull(),
    scriptId: text("script_id").notNull(),
    triggerId: text("trigger_id"),
    kind: text("kind").notNull(),
    event: jsonb("event").notNull(),
    retry: jsonb("retry").$type<RetryPolicy>().notNull(),
    attempts: integer("attempts").notNull(),
    lastError: jsonb("last_error"),
    depth: integer("depth").notNull(),
    firstAttemptAt: timestamptz("first_attempt_at"),
    lastAttemptAt: timestamptz("last_attempt_at"),
    createdAt: createdAt(),
  },
  (t) => [index("dead_letters_app").on(t.appId, t.createdAt)],
);
