import { integer, jsonb, pgTable, primaryKey, text, uniqueIndex } from "drizzle-orm/pg-core";
import { bytea, createdAt, timestamptz } from "./columns.ts";

/**
 * The current version of each secret. `ciphertext` is sealed with the scope's
 * data key and associated data naming scope, scope id, name and version, so a
 * row copied to another scope, name or version does not open.
 */
export const secrets = pgTable(
  "secrets",
  {
    id: text("id").primaryKey(),
    scope: text("scope", { enum: ["global", "workspace", "app"] }).notNull(),
    // '' for the global scope.
    scopeId: text("scope_id").notNull(),
    name: text("name").notNull(),
    version: integer("version").notNull(),
    ciphertext: bytea("ciphertext").notNull(),
    dataKeyId: text("data_key_id").notNull(),
    // Size of the value's JSON in bytes: shown in metadata without decrypting.
    size: integer("size").notNull(),
    // Hosts the value may be sent to (`host`, `host:port`, `*.domain`); null
    // when the value is handed to scripts. Also in the ciphertext's associated
    // data, so a row whose binding was stripped or changed does not open.
    boundHosts: jsonb("bound_hosts").$type<string[]>(),
    createdAt: createdAt(),
    updatedAt: timestamptz("updated_at").notNull().defaultNow(),
    updatedBy: text("updated_by").notNull(),
  },
  (t) => [uniqueIndex("secrets_scope_name").on(t.scope, t.scopeId, t.name)],
);

/** Every version of a secret, the current one included; the oldest beyond the retention count are pruned. */
export const secretVersions = pgTable(
  "secret_versions",
  {
    secretId: text("secret_id")
      .notNull()
      .references(() => secrets.id, { onDelete: "cascade" }),
    version: integer("version").notNull(),
    ciphertext: bytea("ciphertext").notNull(),
    dataKeyId: text("data_key_id").notNull(),
    size: integer("size").notNull(),
    boundHosts: jsonb("bound_hosts").$type<string[]>(),
    createdAt: createdAt(),
    createdBy: text("created_by").notNull(),
    // How this version came to be: set, import or rollback (with the version rolled back to).
    origin: text("origin").notNull(),
  },
  (t) => [primaryKey({ columns: [t.secretId, t.version] })],
);
