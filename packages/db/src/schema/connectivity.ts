import { bigint, index, integer, jsonb, pgTable, primaryKey, text } from "drizzle-orm/pg-core";
import { timestamptz } from "./columns.ts";
import { apps } from "./tenancy.ts";

/**
 * What one worker process saw of one destination host of one app's fetches
 * in one minute (`minute` is the bucket's start: a minute, or a shorter
 * bucket when the status window is configured under five minutes). Only that
 * worker writes its row (it overwrites it with its running totals), so rows
 * never contend; readers merge the workers' rows. `latency_histogram` counts
 * durations in fixed buckets (the same edges in every row), so percentiles
 * can be taken across workers and minutes.
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
    /** `{code: count}` of the failed requests (an HTTP 503 counts as `http_503`, a 429 as `http_429`). */
    errorsByCode: jsonb("errors_by_code").$type<Record<string, number>>().notNull(),
    latencyHistogram: jsonb("latency_histogram").$type<number[]>().notNull(),
    lastStatus: integer("last_status"),
    lastError: text("last_error"),
    lastErrorAt: timestamptz("last_error_at"),
    lastSuccessAt: timestamptz("last_success_at"),
    lastAttemptAt: timestamptz("last_attempt_at").notNull(),
    /** The worker's latest attempts in this minute, newest last: `[at_ms, ok ? 1 : 0, duration_ms]`, at most 5. */
    recent: jsonb("recent").$type<Array<[number, 0 | 1, number?]>>().notNull(),
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
    /**
     * When the host last came back from `down` (its last attempts all
     * succeeded): the error-rate and latency rules count only minutes after
     * it, so an outage still inside the window does not hold it degraded.
     */
    recoveredAt: timestamptz("recovered_at"),
  },
  (t) => [primaryKey({ columns: [t.appId, t.host] })],
);
