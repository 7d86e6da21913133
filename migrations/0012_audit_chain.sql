CREATE TABLE "audit_chain_heads" (
	"chain" text PRIMARY KEY NOT NULL,
	"seq" bigint NOT NULL,
	"last_id" bigint NOT NULL,
	"last_mac" "bytea" NOT NULL,
	"sealed_at" timestamp with time zone NOT NULL,
	"key_id" text NOT NULL,
	"mac" "bytea" NOT NULL
);
--> statement-breakpoint
ALTER TABLE "audit_log" ADD COLUMN "chain_seq" bigint;--> statement-breakpoint
ALTER TABLE "audit_log" ADD COLUMN "chain_mac" "bytea";--> statement-breakpoint
CREATE INDEX "audit_unsealed" ON "audit_log" USING btree ("id") WHERE "audit_log"."chain_seq" is null;--> statement-breakpoint
CREATE UNIQUE INDEX "audit_chain_position" ON "audit_log" USING btree (coalesce("workspace_id", ''),"chain_seq") WHERE "audit_log"."chain_seq" is not null;