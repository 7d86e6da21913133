import { index, integer, pgTable, text, uniqueIndex } from "drizzle-orm/pg-core";
import { createdAt, timestamptz } from "./columns.ts";

/** A workspace groups apps and their shared secrets. A `default` one always exists. */
export const workspaces = pgTable("workspaces", {
  id: text("id").primaryKey(),
  name: text("name").notNull().unique(),
  // Most events of the workspace's apps held by workers at once, across the
  // fleet; null: SWITCHYARD_WORKSPACE_CONCURRENCY (or none).
  concurrency: integer("concurrency"),
  /**
   * Set when the workspace's scripts stopped the engine too often (see
   * engine_crashes): every event of its apps is refused until an operator
   * lifts it, which also restarts the count from `engine_crashes_since`.
   */
  engineBlockedAt: timestamptz("engine_blocked_at"),
  engineCrashesSince: timestamptz("engine_crashes_since"),
  createdAt: createdAt(),
});

/** An app owns scripts, triggers, runs and its own secrets. Names are unique per workspace. */
export const apps = pgTable(
  "apps",
  {
    id: text("id").primaryKey(),
    workspaceId: text("workspace_id")
      .notNull()
      .references(() => workspaces.id, { onDelete: "restrict" }),
    name: text("name").notNull(),
    // Most of the app's events held by workers at once, across the fleet;
    // null: SWITCHYARD_APP_CONCURRENCY (or none).
    concurrency: integer("concurrency"),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("apps_workspace_name").on(t.workspaceId, t.name), index("apps_name").on(t.name)],
);
