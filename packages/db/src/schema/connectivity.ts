import { bigint, index, integer, jsonb, pgTable, primaryKey, text } from "drizzle-orm/pg-core";
import { timestamptz } from "./columns.ts";
import { apps } from "./tenancy.ts";

/**
 * What one worker process saw of one destination host of one app's fetches
 * in one minute. Only that worker writes its row (it overwrites it with its
 * running totals), so rows never contend; readers merge the workers' rows.
 * `latency_histogram` counts durations in fixed buckets (the same edges in
 * every row), so percentiles can be taken across workers and minutes.
 */
export const connectivityMinutes = pgTable(
  "connectivity_minutes",
  {
    appId: text("app_id")
      .notNull()
      .references(() => apps.id, { onDelete: "cascade" }),
    host: text("host").notNull(),
    workerId: text("worker_id").notNull(),
    minute: timestamptz("minute").notNull(),
    requests: integer("requests").notNull(),
    errors: integer("errors").notNull(),
    /** `{code: count}` of the failed requests (an HTTP 5xx counts as `http_5xx`). */
    errorsByCode: jsonb("errors_by_code").$type<Record<string, number>>().notNull(),
    latencyHistogram: jsonb("latency_histogram").$type<number[]>().notNull(),
    lastStatus: integer("last_status"),
    lastError: text("last_error"),
    lastErrorAt: timestamptz("last_error_at"),
    lastSuccessAt: timestamptz("last_success_at"),
    lastAttemptAt: timestamptz("last_attempt_at").notNull(),
    /** The worker's latest attempts, newest last: `[at_ms, ok ? 1 : 0]` pairs, at most 5. */
    recent: jsonb("recent").$type<Array<[number, 0 | 1]>>().notNull(),
  },
  (t) => [primaryKey({ columns: [t.appId, t.host, t.workerId, t.minute] }), index("connectivity_minutes_minute").on(t.minute)],
);

/**
 * Each destination's current status for its app. A change is a
 * compare-and-set on this row in the same transaction as the events it
 * fires, so among several workers exactly one fires each change.
 */
export const connectivityStatus = pgTable(
  "connectivity_status",
  {
    appId: text("app_id")
      .notNull()
      .references(() => apps.id, { onDelete: "cascade" }),
    host: text("host").notNull(),
    status: text("status", { enum: ["healthy", "degraded", "down"] }).notNull(),
    since: timestamptz("since").notNull(),
    lastError: text("last_error"),
    /** Bumped on every change; the event's idempotency key names it. */
    changes: bigint("changes", { mode: "number" }).notNull().default(0),
    checkedAt: timestamptz("checked_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.appId, t.host] })],
);
