import { bigint, index, integer, jsonb, pgTable, text } from "drizzle-orm/pg-core";
import { createdAt } from "./columns.ts";

/**
 * Every secret read, write, reveal and delete, every admin change. Values never
 * appear here: `details` holds metadata only.
 */
export const auditLog = pgTable(
  "audit_log",
  {
    id: bigint("id", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
    at: createdAt(),
    actorType: text("actor_type", { enum: ["token", "run", "system"] }).notNull(),
    actorId: text("actor_id").notNull(),
    action: text("action").notNull(),
    outcome: text("outcome", { enum: ["ok", "denied", "error"] }).notNull(),
    workspaceId: text("workspace_id"),
    appId: text("app_id"),
    scope: text("scope"),
    scopeId: text("scope_id"),
    name: text("name"),
    version: integer("version"),
    details: jsonb("details"),
  },
  (t) => [index("audit_app_at").on(t.appId, t.at), index("audit_workspace_at").on(t.workspaceId, t.at)],
);
