import { sql } from "drizzle-orm";
import { bigint, boolean, index, integer, jsonb, pgTable, text, uniqueIndex } from "drizzle-orm/pg-core";
import { createdAt, timestamptz } from "./columns.ts";
import { apps, workspaces } from "./tenancy.ts";

/** Per-script limits as stored; absent fields take the operator's defaults. */
export interface StoredLimits {
  memory_mb?: number;
  cpu_ms?: number;
  wall_ms?: number;
}

/**
 * The current version of each script: the author's source beside the code
 * compiled at deploy and its source map (for stack traces).
 */
export const scripts = pgTable(
  "scripts",
  {
    id: text("id").primaryKey(),
    appId: text("app_id")
      .notNull()
      .references(() => apps.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    version: integer("version").notNull(),
    language: text("language", { enum: ["js", "ts"] }).notNull(),
    source: text("source").notNull(),
    compiled: text("compiled").notNull(),
    sourceMap: text("source_map"),
    limits: jsonb("limits").$type<StoredLimits>().notNull(),
    freshContext: boolean("fresh_context").notNull().default(false),
    /**
     * The last version that stopped the engine (a run ended `isolate_crashed`),
     * when and in which run. While it equals `version` the script is
     * quarantined: its events are dead-lettered without running, so one
     * tenant cannot restart workers once per event. A new deploy lifts it.
     */
    crashedVersion: integer("crashed_version"),
    crashedAt: timestamptz("crashed_at"),
    crashedRunId: text("crashed_run_id"),
    createdAt: createdAt(),
    updatedAt: timestamptz("updated_at").notNull().defaultNow(),
  },
  (t) => [uniqueIndex("scripts_app_name").on(t.appId, t.name)],
);

/**
 * Each script version whose run stopped the engine (V8 gave up on its
 * isolate and a worker had to restart), counted per workspace: past a few a day the workspace is
 * blocked (`workspaces.engine_blocked_at`), whatever scripts and apps its
 * tenant deploys next. No foreign key to apps or scripts: the count must
 * outlive them.
 */
export const engineCrashes = pgTable(
  "engine_crashes",
  {
    id: text("id").primaryKey(),
    workspaceId: text("workspace_id")
      .notNull()
      .references(() => workspaces.id, { onDelete: "cascade" }),
    appId: text("app_id").notNull(),
    scriptId: text("script_id").notNull(),
    scriptVersion: integer("script_version").notNull(),
    runId: text("run_id").notNull(),
    at: timestamptz("at").notNull().defaultNow(),
  },
  // One count per script version: the runs one stop ended, or a completion written twice, add nothing.
  (t) => [index("engine_crashes_workspace_at").on(t.workspaceId, t.at), uniqueIndex("engine_crashes_script_version").on(t.scriptId, t.scriptVersion)],
);

/** The current transaction's id as a bigint: a run's `finish_xid`, wherever its outcome is written. */
export const RUN_FINISHED_XID = sql`(pg_current_xact_id()::text::bigint)`;

/** Every attempt of a script run, with its redacted logs, result and error. */
export const runs = pgTable(
  "runs",
  {
    id: text("id").primaryKey(),
    // No foreign key to apps: its check was a lookup and a row lock on the
    // app for every run inserted (12 µs a row of the completion's ~60 µs,
    // measured on PostgreSQL 15), and every run is inserted by a completion
    // that in the same transaction takes the event's outbox row, which does
    // cascade from apps: no run of a deleted app can be written. Deleting an
    // app deletes its runs through the trigger apps_delete_runs (migration
    // 0017), which fires after the outbox's cascade, so it also sees a
    // completion that committed while the deletion waited for its outbox row.
    appId: text("app_id").notNull(),
    // No foreign key: a run outlives a deleted script, as its history.
    scriptId: text("script_id").notNull(),
    scriptVersion: integer("script_version").notNull(),
    triggerId: text("trigger_id"),
    eventId: text("event_id").notNull(),
    eventKind: text("event_kind").notNull(),
    attempt: integer("attempt").notNull(),
    status: text("status", { enum: ["running", "ok", "error", "timeout", "oom"] }).notNull(),
    startedAt: timestamptz("started_at").notNull().defaultNow(),
    finishedAt: timestamptz("finished_at"),
    durationMs: integer("duration_ms"),
    cpuMs: integer("cpu_ms"),
    logs: jsonb("logs").$type<unknown[]>().notNull().default([]),
    logsTruncated: boolean("logs_truncated").notNull().default(false),
    // Every fetch the run made or tried (method, scheme://host/path, status,
    // duration_ms, bytes, outcome), masked like the logs.
    subrequests: jsonb("subrequests").$type<unknown[]>().notNull().default([]),
    result: jsonb("result"),
    error: jsonb("error"),
    // The transaction that recorded the run's outcome (its 64-bit xid8), set
    // by this default when the finished run is inserted (runs are inserted
    // finished, never updated). The live tail orders
    // finished runs by it and delivers one only when every transaction below
    // it has ended, so a run committed late by another worker is never
    // skipped (packages/core/src/runs-stream). Null for runs from before it.
    finishXid: bigint("finish_xid", { mode: "number" }).default(RUN_FINISHED_XID),
  },
  (t) => [
    index("runs_app_started").on(t.appId, t.startedAt),
    index("runs_app_finish_xid").on(t.appId, t.finishXid),
    // Listing an app's failed runs by status, newest first. Partial: a run
    // that ended ok (the bulk of them) adds no entry here, so the hot path
    // writes one index entry less per run; listing ok runs walks
    // runs_app_started instead, where nearly every row matches.
    index("runs_app_not_ok").on(t.appId, t.status, t.startedAt).where(sql`${t.status} <> 'ok'`),
    index("runs_event").on(t.eventId),
  ],
);
