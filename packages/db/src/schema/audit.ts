import { sql } from "drizzle-orm";
import { bigint, index, integer, jsonb, pgTable, text, uniqueIndex } from "drizzle-orm/pg-core";
import { bytea, createdAt, timestamptz } from "./columns.ts";

/**
 * Every secret read, write, reveal and delete, every admin change. Values never
 * appear here: `details` holds metadata only.
 *
 * Rows are chained per workspace (a null workspace is the global chain): a
 * sealer gives each new row the next `chain_seq` of its chain and a
 * `chain_mac`, an HMAC over the row's content and the previous row's MAC,
 * shortly after it commits. Both are null until then, so the insert on the hot
 * path is the same single statement it always was.
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
    /** Position in its workspace's chain, from 1; null until sealed. */
    chainSeq: bigint("chain_seq", { mode: "number" }),
    /** HMAC-SHA256 over the row and the previous row's MAC; null until sealed. */
    chainMac: bytea("chain_mac"),
  },
  (t) => [
    index("audit_app_at").on(t.appId, t.at),
    index("audit_workspace_at").on(t.workspaceId, t.at),
    // What the sealer reads: small, since rows leave it within a second or so.
    index("audit_unsealed").on(t.id).where(sql`${t.chainSeq} is null`),
    // One row per position per chain; verify walks a chain in this order.
    uniqueIndex("audit_chain_position").on(sql`coalesce(${t.workspaceId}, '')`, t.chainSeq).where(sql`${t.chainSeq} is not null`),
  ],
);

/**
 * The signed checkpoint of each chain: how many rows it holds, its last row's
 * id and MAC, when it was sealed, and a MAC over all of that. Deleting the
 * tail of a chain leaves it pointing past the end; deleting it too leaves
 * sealed rows with no checkpoint. An attacker who can write the database can
 * still roll both back to an older checkpoint they copied, which only a head
 * kept outside the database reveals (`switchyard audit verify --against`).
 */
export const auditChainHeads = pgTable("audit_chain_heads", {
  /** The workspace id, or '' for the global chain. */
  chain: text("chain").primaryKey(),
  seq: bigint("seq", { mode: "number" }).notNull(),
  lastId: bigint("last_id", { mode: "number" }).notNull(),
  lastMac: bytea("last_mac").notNull(),
  sealedAt: timestamptz("sealed_at").notNull(),
  /** The data key whose HMAC key signs the chain and this checkpoint. */
  keyId: text("key_id").notNull(),
  mac: bytea("mac").notNull(),
});
