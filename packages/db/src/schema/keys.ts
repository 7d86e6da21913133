import { pgTable, text, uniqueIndex } from "drizzle-orm/pg-core";
import { bytea, createdAt, timestamptz } from "./columns.ts";

/**
 * One data key per secret scope (global, workspace, app), stored wrapped by
 * the master keyring. `master_key_id` names the master key that wrapped it, so
 * rotation can find the rows still under an older key and re-wrap them one by one.
 */
export const dataKeys = pgTable(
  "data_keys",
  {
    id: text("id").primaryKey(),
    scope: text("scope", { enum: ["global", "workspace", "app"] }).notNull(),
    // '' for the global scope, so (scope, scope_id) can be unique.
    scopeId: text("scope_id").notNull(),
    wrapped: bytea("wrapped").notNull(),
    masterKeyId: text("master_key_id").notNull(),
    createdAt: createdAt(),
    rewrappedAt: timestamptz("rewrapped_at"),
  },
  (t) => [uniqueIndex("data_keys_scope").on(t.scope, t.scopeId)],
);
