import { index, pgTable, text, uniqueIndex } from "drizzle-orm/pg-core";
import { createdAt } from "./columns.ts";

/** A workspace groups apps and their shared secrets. A `default` one always exists. */
export const workspaces = pgTable("workspaces", {
  id: text("id").primaryKey(),
  name: text("name").notNull().unique(),
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
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("apps_workspace_name").on(t.workspaceId, t.name), index("apps_name").on(t.name)],
);
